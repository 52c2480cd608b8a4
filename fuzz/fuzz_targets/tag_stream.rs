//! The tag-stream decoder on arbitrary bytes, cut at arbitrary places: it must never panic,
//! and the cut must not change the result.
#![no_main]

use drivers::protocol::tag_stream::{Decoder, TimeBase};
use drivers::stream::TagBatch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (cut, bytes) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c) + 1, rest),
        None => return,
    };
    let mut whole = TagBatch::default();
    let mut d = Decoder::new(TimeBase::default());
    d.decode(bytes, &mut whole);
    d.finish(&mut whole);
    let mut pieces = TagBatch::default();
    let mut d = Decoder::new(TimeBase::default());
    for chunk in bytes.chunks(cut) {
        d.decode(chunk, &mut pieces);
    }
    d.finish(&mut pieces);
    assert_eq!(whole, pieces);
});
