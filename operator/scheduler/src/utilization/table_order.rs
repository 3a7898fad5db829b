//! The order in which Pacemaker walks a resource's node table: a GLib hash table
//! keyed by node id (case-insensitive string hash). Where the scheduler takes the
//! first of several equally good nodes from that walk, rather than from a sorted
//! list, this order decides (seen with crm_simulate 2.1.5 on GLib 2.74).

use crate::model::{Cluster, NodeIdx};

/// GLib's table sizes are powers of two; the bucket comes from a prime modulus.
const PRIME_MOD: [u32; 17] = [
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521,
];
const MIN_SHIFT: u32 = 3;

fn key_hash(id: &str) -> u32 {
    let h = id.bytes().fold(0u32, |h, b| {
        h.wrapping_mul(31)
            .wrapping_add(b.to_ascii_lowercase() as u32)
    });
    // 0 and 1 mark empty and deleted buckets.
    h.max(2)
}

struct Table {
    shift: u32,
    hashes: Vec<u32>,
    keys: Vec<Option<NodeIdx>>,
    len: usize,
}

impl Table {
    fn new() -> Self {
        let size = 1usize << MIN_SHIFT;
        Table {
            shift: MIN_SHIFT,
            hashes: vec![0; size],
            keys: vec![None; size],
            len: 0,
        }
    }

    fn mask(&self) -> usize {
        (1usize << self.shift) - 1
    }

    fn bucket(&self, h: u32) -> usize {
        (h.wrapping_mul(11) % PRIME_MOD[self.shift as usize]) as usize
    }

    fn insert(&mut self, h: u32, n: NodeIdx) {
        let (mut i, mut step) = (self.bucket(h), 0);
        while self.hashes[i] != 0 {
            step += 1;
            i = (i + step) & self.mask();
        }
        self.hashes[i] = h;
        self.keys[i] = Some(n);
        self.len += 1;
        let size = self.hashes.len();
        if size <= self.len + self.len / 16 {
            self.grow();
        }
    }

    /// Grow for len * 4/3 entries, moving entries in bucket order; an entry landing
    /// on one not yet moved displaces it, which then moves next.
    fn grow(&mut self) {
        let old = self.hashes.len();
        let mut want = (self.len as f64 * 1.333) as usize;
        let mut shift = 0;
        while want > 0 {
            want >>= 1;
            shift += 1;
        }
        self.shift = shift.max(MIN_SHIFT);
        let size = 1usize << self.shift;
        self.hashes.resize(size, 0);
        self.keys.resize(size, None);
        let mut moved = vec![false; size];
        for i in 0..old {
            if self.hashes[i] < 2 || moved[i] {
                continue;
            }
            let (mut h, mut key) = (self.hashes[i], self.keys[i].take());
            self.hashes[i] = 0;
            loop {
                let (mut j, mut step) = (self.bucket(h), 0);
                while moved[j] {
                    step += 1;
                    j = (j + step) & self.mask();
                }
                moved[j] = true;
                let (was_h, was_key) = (self.hashes[j], self.keys[j]);
                self.hashes[j] = h;
                self.keys[j] = key;
                if was_h < 2 {
                    break;
                }
                (h, key) = (was_h, was_key);
            }
        }
    }
}

/// All nodes in the order of Pacemaker's node-table walk (filled in CIB order).
pub fn table_order(cl: &Cluster) -> Vec<NodeIdx> {
    let mut t = Table::new();
    for (n, node) in cl.nodes.iter().enumerate() {
        t.insert(key_hash(&node.id), n);
    }
    t.keys.into_iter().flatten().collect()
}
