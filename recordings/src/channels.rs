//! How the events of other instruments' files map onto a recording's one `channel` column
//! (docs/recording-schema.md, "Channels"): a recording keeps tags, not kinds, so the kind
//! lives in the channel number. A qkdbench tagger only ever uses 0..7.

use crate::event::{Event, EventKind};

/// Highest detection channel stored as itself.
pub const MAX_TAG_CHANNEL: u32 = 63;
/// Highest detection channel at all: 64 to 126 are stored one up (65 to 127), past the sync
/// (HydraHarp and MultiHarp number up to 64 inputs from 1).
pub const MAX_HIGH_TAG_CHANNEL: u32 = 126;
/// The channel of an instrument's sync input (PicoQuant T2 files record syncs as events).
pub const SYNC: u8 = 64;
/// Markers: channel = MARKER_BASE + marker bits.
pub const MARKER_BASE: u8 = 128;

/// The recording channel of an event: Ok(None) for events that are not tags in a recording
/// (overflow records, missed counts, errors), Err with the reason for channels that do not fit.
pub fn to_recording(e: &Event) -> Result<Option<u8>, String> {
    match e.kind {
        EventKind::Tag if e.channel <= MAX_TAG_CHANNEL => Ok(Some(e.channel as u8)),
        EventKind::Tag if e.channel <= MAX_HIGH_TAG_CHANNEL => Ok(Some(e.channel as u8 + 1)),
        EventKind::Tag => Err(format!("detection channel {} is above {MAX_HIGH_TAG_CHANNEL}", e.channel)),
        EventKind::Sync => Ok(Some(SYNC)),
        EventKind::Marker if e.channel < 128 => Ok(Some(MARKER_BASE + e.channel as u8)),
        EventKind::Marker => Err(format!("marker bits {:#x} do not fit in 7 bits", e.channel)),
        EventKind::Overflow | EventKind::Missed | EventKind::Error => Ok(None),
    }
}

/// The kind and instrument channel of a recording's channel number.
pub fn from_recording(channel: u8) -> (EventKind, u32) {
    match channel {
        SYNC => (EventKind::Sync, 0),
        c if c >= MARKER_BASE => (EventKind::Marker, u32::from(c - MARKER_BASE)),
        c if c > SYNC => (EventKind::Tag, u32::from(c - 1)),
        c => (EventKind::Tag, u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_with_a_channel_survives_the_round_trip() {
        for (kind, channel) in [
            (EventKind::Tag, 0),
            (EventKind::Tag, 63),
            (EventKind::Tag, 64),
            (EventKind::Tag, 126),
            (EventKind::Sync, 0),
            (EventKind::Marker, 1),
            (EventKind::Marker, 127),
        ] {
            let c = to_recording(&Event { time_ps: 0, channel, kind }).unwrap().unwrap();
            assert_eq!(from_recording(c), (kind, channel));
        }
        assert!(to_recording(&Event { time_ps: 0, channel: 127, kind: EventKind::Tag }).is_err());
        assert!(to_recording(&Event { time_ps: 0, channel: 128, kind: EventKind::Marker }).is_err());
        assert_eq!(to_recording(&Event { time_ps: 0, channel: 0, kind: EventKind::Overflow }), Ok(None));
    }
}
