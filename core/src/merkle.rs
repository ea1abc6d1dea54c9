//! Binary Poseidon Merkle tree over datanet leaves.
//!
//! Leaves are padded with `0` up to the next power of two (at least 1 leaf);
//! a node is `poseidon::hash2(left, right)`. The circuit proves membership of
//! an aligned *window* of `2^w` consecutive leaves: it rebuilds the window's
//! subtree root and climbs to the root along [`MerkleTree::window_path`].

use crate::{field::Fr, poseidon::hash2, Error, Result};
use ff::Field;

/// A fully materialised tree (levels[0] = padded leaves, last = [root]).
#[derive(Clone, Debug)]
pub struct MerkleTree {
    levels: Vec<Vec<Fr>>,
    len: usize,
}

impl MerkleTree {
    /// Build the tree over `leaves`.
    pub fn new(leaves: &[Fr]) -> Self {
        let width = leaves.len().max(1).next_power_of_two();
        let mut level = leaves.to_vec();
        level.resize(width, Fr::ZERO);
        let mut levels = vec![level];
        while levels.last().unwrap().len() > 1 {
            let prev = levels.last().unwrap();
            levels.push(prev.chunks(2).map(|p| hash2(p[0], p[1])).collect());
        }
        Self { levels, len: leaves.len() }
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.levels.last().unwrap()[0]
    }

    /// Tree depth (number of hash levels above the leaves).
    pub fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    /// Number of real (unpadded) leaves.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the tree has no real leaves.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn check_window(&self, start: usize, size: usize) -> Result<u32> {
        let bad = Error::Window { start, end: start + size, len: self.len };
        if size == 0 || !size.is_power_of_two() || !start.is_multiple_of(size) || start + size > self.len {
            return Err(bad);
        }
        Ok(size.trailing_zeros())
    }

    /// Siblings from the window's subtree root up to the root (bottom first).
    pub fn window_path(&self, start: usize, size: usize) -> Result<Vec<Fr>> {
        let lvl = self.check_window(start, size)? as usize;
        let mut idx = start / size;
        let mut path = Vec::new();
        for level in &self.levels[lvl..self.levels.len() - 1] {
            path.push(level[idx ^ 1]);
            idx /= 2;
        }
        Ok(path)
    }

    /// Root of the window's subtree.
    pub fn window_root(&self, start: usize, size: usize) -> Result<Fr> {
        let lvl = self.check_window(start, size)? as usize;
        Ok(self.levels[lvl][start / size])
    }
}

/// Recompute a root from a subtree root, its index among subtrees of its
/// level, and the bottom-first sibling path.
pub fn root_from_path(mut node: Fr, mut index: usize, path: &[Fr]) -> Fr {
    for sib in path {
        node = if index & 1 == 0 { hash2(node, *sib) } else { hash2(*sib, node) };
        index >>= 1;
    }
    node
}

/// Root of a list of leaves whose length is a power of two.
pub fn subtree_root(leaves: &[Fr]) -> Fr {
    MerkleTree::new(leaves).root()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_paths_reach_the_root() {
        let leaves: Vec<Fr> = (0..37u64).map(Fr::from).collect();
        let t = MerkleTree::new(&leaves);
        assert_eq!(t.depth(), 6);
        for (start, size) in [(0, 4), (8, 8), (32, 4), (16, 16), (0, 32)] {
            let sub = subtree_root(&leaves[start..start + size]);
            assert_eq!(sub, t.window_root(start, size).unwrap());
            let path = t.window_path(start, size).unwrap();
            assert_eq!(root_from_path(sub, start / size, &path), t.root());
        }
        assert!(t.window_path(2, 4).is_err());
        assert!(t.window_path(32, 8).is_err());
        assert!(t.window_path(0, 3).is_err());
    }
}
