//! What a time tagger delivers: batches of tags, struct-of-arrays, with loss in band.

/// A loss or error event inside a tag stream (the Swabian model: loss is never a flag on
/// the side, it sits in the stream where it happened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// The device started dropping tags at this time.
    OverflowBegin {
        /// Device time of the begin, in picoseconds.
        time_ps: i64,
    },
    /// The device stopped dropping tags at this time.
    OverflowEnd {
        /// Device time of the end, in picoseconds.
        time_ps: i64,
    },
    /// `count` tags of `channel` were lost in the overflow that just ended.
    Missed {
        /// Input channel.
        channel: u8,
        /// Tags lost.
        count: u64,
    },
    /// Bytes that are not a valid record; the decoder skipped them.
    Error {
        /// Byte offset of the bad word from the start of the stream.
        byte_offset: u64,
        /// The word as read.
        word: u32,
        /// What is wrong with it.
        kind: StreamErrorKind,
    },
}

/// Why a word of the stream was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamErrorKind {
    /// A record kind the wire format does not define.
    UnknownRecord,
    /// A tag before any WRAP record: its epoch, hence its time, is unknown.
    TagBeforeWrap,
    /// A MISSED_HI not followed by a MISSED of the same channel.
    OrphanMissedHi,
    /// A WRAP whose epoch goes backwards or jumps: the stream was cut or reordered.
    EpochDiscontinuity,
    /// The stream ended in the middle of a word.
    TruncatedWord,
}

/// A batch of tags as struct-of-arrays (the engine's hot loop reads one array at a time),
/// with the stream's events and where they occurred.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagBatch {
    /// Tag times in picoseconds of device time, non-decreasing per channel.
    pub time_ps: Vec<i64>,
    /// Input channel of each tag.
    pub channel: Vec<u8>,
    /// Events, each with the number of tags of this batch that precede it.
    pub events: Vec<(usize, StreamEvent)>,
}

impl TagBatch {
    /// An empty batch with room for `n` tags.
    pub fn with_capacity(n: usize) -> Self {
        TagBatch { time_ps: Vec::with_capacity(n), channel: Vec::with_capacity(n), events: Vec::new() }
    }

    /// Tags in the batch.
    pub fn len(&self) -> usize {
        self.time_ps.len()
    }

    /// Whether the batch has neither tags nor events.
    pub fn is_empty(&self) -> bool {
        self.time_ps.is_empty() && self.events.is_empty()
    }

    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.time_ps.clear();
        self.channel.clear();
        self.events.clear();
    }

    /// Appends one tag.
    #[inline]
    pub fn push(&mut self, time_ps: i64, channel: u8) {
        self.time_ps.push(time_ps);
        self.channel.push(channel);
    }

    /// Appends an event after the tags pushed so far.
    pub fn push_event(&mut self, e: StreamEvent) {
        self.events.push((self.time_ps.len(), e));
    }

    /// Moves everything of `other` to the end of this batch.
    pub fn append(&mut self, other: &mut TagBatch) {
        let base = self.time_ps.len();
        self.events.extend(other.events.drain(..).map(|(i, e)| (i + base, e)));
        self.time_ps.append(&mut other.time_ps);
        self.channel.append(&mut other.channel);
    }
}
