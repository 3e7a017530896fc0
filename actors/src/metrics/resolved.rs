//! Pre-resolved series handles: a fixed table of lazily created children of one labelled
//! family, indexed by closed label ordinals (a slot, an enum's position), so that a hot event
//! moves its series without hashing label strings or allocating a label value.

use std::sync::OnceLock;

/// Children of one family, created on first use (so no series appears before its first
/// observation, as with `with_label_values`).
pub struct Resolved<M> {
    cells: Box<[OnceLock<M>]>,
}

impl<M> Resolved<M> {
    pub fn new(len: usize) -> Self {
        Self {
            cells: (0..len).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The child at `index`, created by `make` the first time; `None` past the table (the
    /// caller falls back to a label lookup).
    pub fn get(&self, index: usize, make: impl FnOnce() -> M) -> Option<&M> {
        self.cells.get(index).map(|c| c.get_or_init(make))
    }

    /// Calls `f` with the child at `index` (created by `make` the first time), or, when there
    /// is no index or it is past the table, with a child looked up by `make` now.
    pub fn with(&self, index: Option<usize>, make: impl Fn() -> M, f: impl FnOnce(&M)) {
        match index.and_then(|i| self.get(i, &make)) {
            Some(c) => f(c),
            None => f(&make()),
        }
    }
}

/// The flat index of coordinates `(i, n)`, each `i` a position in a set of `n`; `None` when
/// one is outside its set.
pub fn flat(coords: &[(usize, usize)]) -> Option<usize> {
    coords
        .iter()
        .try_fold(0, |acc, &(i, n)| (i < n).then_some(acc * n + i))
}

/// The position of `v` in its label set's `ALL` list.
pub fn ordinal<T: PartialEq>(all: &[T], v: &T) -> usize {
    all.iter().position(|x| x == v).unwrap_or(all.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_made_once_and_an_index_past_the_table_is_none() {
        let t: Resolved<u32> = Resolved::new(2);
        let mut made = 0;
        assert_eq!(
            t.get(1, || {
                made += 1;
                7
            }),
            Some(&7)
        );
        assert_eq!(
            t.get(1, || {
                made += 1;
                8
            }),
            Some(&7)
        );
        assert_eq!(made, 1);
        assert_eq!(t.get(2, || 9), None);
        assert_eq!(ordinal(&[3, 4, 5], &5), 2);
        assert_eq!(ordinal(&[3, 4, 5], &6), 3);
        assert_eq!(flat(&[(1, 2), (2, 3)]), Some(5));
        assert_eq!(flat(&[(1, 2), (3, 3)]), None);
        let mut seen = Vec::new();
        t.with(Some(1), || 0, |v| seen.push(*v));
        t.with(Some(5), || 4, |v| seen.push(*v));
        t.with(None, || 6, |v| seen.push(*v));
        assert_eq!(seen, [7, 4, 6]);
    }
}
