//! Choosing scenarios: `-k` (a name pattern, as pytest's) and `--shard I/N` (a deterministic
//! share of the library, for a CI matrix).

use std::str::FromStr;

/// `--shard I/N`: the I-th of N shares (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which share, 1..=count.
    pub index: usize,
    /// How many shares.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| format!("{s:?}: expected I/N, e.g. 2/4"))?;
        let index: usize = i.trim().parse().map_err(|_| format!("{s:?}: {i:?} is not a number"))?;
        let count: usize = n.trim().parse().map_err(|_| format!("{s:?}: {n:?} is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("{s:?}: need 1 <= I <= N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether the scenario at `position` of the sorted, filtered list belongs to this share:
    /// round robin, so each share gets every N-th scenario and the shares do not overlap.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

/// Whether `name` (a scenario's name or file name) matches `-k` patterns: any pattern
/// matches as a substring; a pattern `not X` excludes. No patterns: everything.
pub fn matches(patterns: &[String], names: &[&str]) -> bool {
    let (neg, pos): (Vec<&String>, Vec<&String>) = patterns.iter().partition(|p| p.starts_with("not "));
    if neg.iter().any(|p| names.iter().any(|n| n.contains(p["not ".len()..].trim()))) {
        return false;
    }
    pos.is_empty() || pos.iter().any(|p| names.iter().any(|n| n.contains(p.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_list() {
        let shards: Vec<Shard> = (1..=3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for pos in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.takes(pos)).count(), 1);
        }
        assert!("0/3".parse::<Shard>().is_err() && "4/3".parse::<Shard>().is_err() && "x".parse::<Shard>().is_err());
    }

    #[test]
    fn patterns_select_and_exclude() {
        let k = |p: &[&str], n: &str| matches(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &[n]);
        assert!(k(&[], "smoke"));
        assert!(k(&["pass"], "micius_pass"));
        assert!(!k(&["pass"], "smoke"));
        assert!(!k(&["not pass"], "micius_pass"));
        assert!(k(&["not pass"], "smoke"));
    }
}
