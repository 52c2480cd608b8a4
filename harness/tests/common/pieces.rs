//! A stream cut into batches, for the engine's chunking tests.

/// `whole` cut into batches of `chunk` tags (its events left out).
pub fn in_pieces(
    whole: &drivers::stream::TagBatch,
    chunk: usize,
) -> impl Iterator<Item = drivers::stream::TagBatch> + '_ {
    (0..whole.len()).step_by(chunk.max(1)).map(move |i| {
        let j = (i + chunk).min(whole.len());
        drivers::stream::TagBatch {
            time_ps: whole.time_ps[i..j].to_vec(),
            channel: whole.channel[i..j].to_vec(),
            events: Vec::new(),
        }
    })
}
