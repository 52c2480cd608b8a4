//! The normalised event stream every importer produces (and `qkdbench dump` prints).

/// What an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A detection.
    Tag,
    /// A sync pulse (T2 files of PicoQuant instruments record them as events).
    Sync,
    /// A marker (frame, line, pixel, external trigger); `channel` holds the marker bits.
    Marker,
    /// A time overflow (wrap) record; it carries no detection.
    Overflow,
    /// Events the instrument reports it lost.
    Missed,
    /// A record the importer could not interpret.
    Error,
}

impl EventKind {
    /// The word `qkdbench dump` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Tag => "tag",
            EventKind::Sync => "sync",
            EventKind::Marker => "marker",
            EventKind::Overflow => "overflow",
            EventKind::Missed => "missed",
            EventKind::Error => "error",
        }
    }
}

/// One event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Absolute time in picoseconds, rounded to the nearest integer.
    pub time_ps: i64,
    /// Channel (instrument numbering, documented per importer), or marker bits.
    pub channel: u32,
    /// Kind.
    pub kind: EventKind,
}
