//! Interventional TreeSHAP in O(rows + background): per leaf, the game of a background row `z`
//! depends on `x` and `z` only through which of the leaf's path features each *follows* (meets
//! every split on that feature the way the path goes). A leaf with `d` distinct path features
//! is reached by the hybrid `(x_S, z_¬S)` iff every feature in `S` is followed by `x` and every
//! other by `z`; so with `X` the features only `x` follows and `Z` those only `z` follows (and
//! none followed by neither), each feature of `X` gets `value·(|X|−1)!|Z|!/(|X|+|Z|)!` and each
//! of `Z` minus the mirror. This is the decomposition of WOODELF (AAAI 2026) in its simplest form.
//!
//! The background enters only through the weight of each pattern of followed features per leaf,
//! so the patterns are counted once; then, for every pattern `x` can have, the leaf's Shapley
//! coefficients are summed over the background's patterns into a table of `2^d × d` values
//! (the patterns `z` compatible with `x` are the supersets of `x`'s complement: `3^d` pairs in
//! all). Explaining a row is then one lookup per leaf, whatever the background's size.

use rayon::prelude::*;

use crate::model::trees::TreeEnsemble;

/// Leaves with more distinct path features than this are left to the walk per background group.
pub(super) const MAX_LEAF_FEATURES: usize = 12;
/// Table values above which the tables would take too much memory (64 MB of f64).
const MAX_TABLE_VALUES: usize = 1 << 23;

/// Every leaf's path, features and table of Shapley coefficients against one background.
pub(super) struct LeafTables {
    leaves: Vec<Leaf>,
    /// Path conditions of every leaf: (node, slot of its feature among the leaf's, direction).
    conds: Vec<(u32, u8, bool)>,
    features: Vec<u32>,
    tables: Vec<f64>,
}

struct Leaf {
    node: u32,
    conds: (u32, u32),
    features: (u32, u32),
    table: usize,
}

/// One leaf's path before the tables: its conditions and distinct features.
struct Path {
    node: u32,
    conds: Vec<(u32, u8, bool)>,
    features: Vec<u32>,
}

impl LeafTables {
    /// The paths of every leaf, or `None` when a leaf has too many distinct path features or
    /// the tables would not fit in memory.
    fn paths(t: &TreeEnsemble) -> Option<Vec<Vec<Path>>> {
        let per_tree: Vec<Vec<Path>> = (0..t.n_trees())
            .into_par_iter()
            .map(|tree| {
                let mut out = Vec::new();
                let mut stack: Vec<(u32, bool)> = Vec::new();
                collect(t, t.roots[tree], &mut stack, &mut out);
                out
            })
            .collect();
        let mut values = 0usize;
        for p in per_tree.iter().flatten() {
            let d = p.features.len();
            if d > MAX_LEAF_FEATURES {
                return None;
            }
            values += (1usize << d) * d;
        }
        (values <= MAX_TABLE_VALUES).then_some(per_tree)
    }

    /// Operations to build the tables against `n_bg` rows, and to explain one row with them; `None`
    /// when they cannot be built.
    pub fn cost(t: &TreeEnsemble, n_bg: usize) -> Option<(f64, f64)> {
        let paths = Self::paths(t)?;
        let (mut build, mut row) = (0.0, t.nodes.len() as f64);
        for p in paths.iter().flatten() {
            let d = p.features.len() as i32;
            build += n_bg as f64 * p.conds.len() as f64 + 3f64.powi(d) * d as f64;
            row += (p.conds.len() + p.features.len()) as f64;
        }
        Some((build, row))
    }

    /// The tables against background rows going `directions` (`node * n_bg + row`) with
    /// `weights`.
    pub fn new(t: &TreeEnsemble, directions: &[bool], weights: &[f64]) -> Option<LeafTables> {
        let n_bg = weights.len();
        let coef = super::interventional::coefficients(MAX_LEAF_FEATURES + 1);
        let paths: Vec<Path> = Self::paths(t)?.into_iter().flatten().collect();
        let tables: Vec<Vec<f64>> = paths
            .par_iter()
            .map(|p| {
                let d = p.features.len();
                let full = (1usize << d) - 1;
                // The background's weight on each pattern of followed features.
                let mut mass = vec![0f64; 1 << d];
                for (b, &w) in weights.iter().enumerate() {
                    let mut follows = full;
                    for &(node, slot, dir) in &p.conds {
                        if directions[node as usize * n_bg + b] != dir {
                            follows &= !(1 << slot);
                        }
                    }
                    mass[follows] += w;
                }
                let mut table = vec![0f64; (1 << d) * d];
                for xp in 0..=full {
                    let row = &mut table[xp * d..(xp + 1) * d];
                    // z must follow every feature x does not: z = ¬x ∪ (any subset of x).
                    let missing = full & !xp;
                    let mut sub = xp;
                    loop {
                        let zp = missing | sub;
                        let w = mass[zp];
                        if w != 0.0 {
                            let only_x = xp & !zp;
                            let only_z = zp & !xp;
                            let (a, b) =
                                (only_x.count_ones() as usize, only_z.count_ones() as usize);
                            if a + b > 0 {
                                let (cx, cz) = (w * coef[a][b], w * coef[b][a]);
                                for (i, r) in row.iter_mut().enumerate() {
                                    if only_x >> i & 1 == 1 {
                                        *r += cx;
                                    } else if only_z >> i & 1 == 1 {
                                        *r -= cz;
                                    }
                                }
                            }
                        }
                        if sub == 0 {
                            break;
                        }
                        sub = (sub - 1) & xp;
                    }
                }
                table
            })
            .collect();
        let mut out = LeafTables {
            leaves: Vec::with_capacity(paths.len()),
            conds: Vec::new(),
            features: Vec::new(),
            tables: Vec::with_capacity(tables.iter().map(Vec::len).sum()),
        };
        for (p, table) in paths.into_iter().zip(tables) {
            let c0 = out.conds.len() as u32;
            out.conds.extend(p.conds);
            let f0 = out.features.len() as u32;
            out.features.extend(p.features);
            out.leaves.push(Leaf {
                node: p.node,
                conds: (c0, out.conds.len() as u32),
                features: (f0, out.features.len() as u32),
                table: out.tables.len(),
            });
            out.tables.extend(table);
        }
        Some(out)
    }

    /// Adds the attributions of row `x` to `phi` (features × targets, row-major).
    pub fn attribute(&self, t: &TreeEnsemble, x: &[f32], phi: &mut [f64]) {
        let k = t.n_targets;
        let scale = t.leaf_scale();
        for leaf in &self.leaves {
            let features = &self.features[leaf.features.0 as usize..leaf.features.1 as usize];
            let d = features.len();
            let mut follows = (1usize << d) - 1;
            for &(node, slot, dir) in &self.conds[leaf.conds.0 as usize..leaf.conds.1 as usize] {
                let n = &t.nodes[node as usize];
                if n.goes_true(x[n.feature as usize]) != dir {
                    follows &= !(1 << slot);
                }
            }
            let row = &self.tables[leaf.table + follows * d..leaf.table + (follows + 1) * d];
            for &(target, v) in t.weights(&t.nodes[leaf.node as usize]) {
                let v = v * scale;
                for (&f, &c) in features.iter().zip(row) {
                    phi[f as usize * k + target as usize] += v * c;
                }
            }
        }
    }
}

/// Depth-first: the path to every leaf under node `i`, `stack` holding the splits above it.
fn collect(t: &TreeEnsemble, i: u32, stack: &mut Vec<(u32, bool)>, out: &mut Vec<Path>) {
    let node = &t.nodes[i as usize];
    if node.is_leaf() {
        let mut features: Vec<u32> = Vec::new();
        let conds = stack
            .iter()
            .map(|&(n, dir)| {
                let f = t.nodes[n as usize].feature;
                let slot = features.iter().position(|&g| g == f).unwrap_or_else(|| {
                    features.push(f);
                    features.len() - 1
                });
                (n, slot.min(u8::MAX as usize) as u8, dir)
            })
            .collect();
        out.push(Path {
            node: i,
            conds,
            features,
        });
        return;
    }
    stack.push((i, true));
    collect(t, node.yes, stack, out);
    stack.pop();
    stack.push((i, false));
    collect(t, node.no, stack, out);
    stack.pop();
}
