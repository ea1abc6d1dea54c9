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

/// Root of `width` zero leaves (`width` a power of two).
pub fn zero_root(width: usize) -> Fr {
    let mut node = Fr::ZERO;
    let mut w = 1;
    while w < width {
        node = hash2(node, node);
        w *= 2;
    }
    node
}

/// Whether `chunk_roots` — the subtree roots of the aligned windows of
/// `size` leaves covering a tree of `n` leaves (zero leaves past `n`, as
/// [`MerkleTree`] pads) — are those of the tree with root `root`.
pub fn chunks_match_root(root: Fr, n: usize, size: usize, chunk_roots: &[Fr]) -> bool {
    if n == 0 || size == 0 || !size.is_power_of_two() || chunk_roots.len() != n.div_ceil(size) {
        return false;
    }
    let width = n.next_power_of_two();
    if width <= size {
        // one chunk spans the whole tree and more: climb from the root with zero siblings
        let (mut node, mut w) = (root, width);
        while w < size {
            node = hash2(node, zero_root(w));
            w *= 2;
        }
        return chunk_roots == [node];
    }
    let mut level = chunk_roots.to_vec();
    level.resize(width / size, zero_root(size));
    while level.len() > 1 {
        level = level.chunks(2).map(|p| hash2(p[0], p[1])).collect();
    }
    level[0] == root
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
        // chunks of 8 (the last partial) and a chunk wider than the tree
        let chunk = |a: usize, size: usize| {
            let mut w: Vec<Fr> = leaves[a.min(37)..(a + size).min(37)].to_vec();
            w.resize(size, Fr::ZERO);
            subtree_root(&w)
        };
        let roots: Vec<Fr> = (0..5).map(|j| chunk(8 * j, 8)).collect();
        assert!(chunks_match_root(t.root(), 37, 8, &roots));
        assert!(!chunks_match_root(t.root(), 37, 8, &roots[..4]));
        assert!(!chunks_match_root(t.root(), 32, 8, &roots)); // (the count itself is bound by the chunks' `active`)
        let mut swapped = roots.clone();
        swapped.swap(0, 1);
        assert!(!chunks_match_root(t.root(), 37, 8, &swapped));
        assert!(chunks_match_root(t.root(), 37, 128, &[chunk(0, 128)]));
        assert!(t.window_path(32, 8).is_err());
        assert!(t.window_path(0, 3).is_err());
    }
}
