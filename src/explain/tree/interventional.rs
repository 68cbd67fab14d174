//! Interventional TreeSHAP (Lundberg et al. 2020, "Independent TreeSHAP"): for each background
//! row `z`, one walk down each tree tracks the features at which the path follows `x` but not
//! `z` and the reverse, and each reached leaf shares its value among them in closed form.
//! Background rows that go the same way at every node of a tree play the same game, so they
//! are walked once, with their total weight.

use std::sync::Arc;

use rayon::prelude::*;

use super::tables::LeafTables;
use super::{State, TreeShap, check_width};
use crate::explain::{Background, ExplainError, Link};
use crate::model::trees::{Node, TreeEnsemble};

/// How interventional TreeSHAP meets the background.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Whichever of the two the sizes of the trees and the background make faster.
    Auto,
    /// One walk per tree and group of background rows: O(rows × groups).
    Groups,
    /// Tables per leaf of the background's patterns: O(rows + background).
    Tables,
}

impl Algorithm {
    /// The algorithm's name in notes.
    pub fn describe(self) -> &'static str {
        match self {
            Algorithm::Auto => "automatic",
            Algorithm::Groups => "one walk per tree and group of background rows",
            Algorithm::Tables => "leaf tables of background patterns",
        }
    }
}

/// Rows a table build must pay for itself within to be chosen.
const PAYBACK_ROWS: f64 = 256.0;

impl TreeShap {
    /// Interventional TreeSHAP against `background`, with the faster algorithm.
    pub fn interventional(
        trees: Arc<TreeEnsemble>,
        background: &Background,
        link: Link,
    ) -> Result<TreeShap, ExplainError> {
        Self::interventional_with(trees, background, link, Algorithm::Auto)
    }

    /// Interventional TreeSHAP against `background` with `algorithm` (tables fall back to
    /// walks when a leaf has too many distinct path features).
    pub fn interventional_with(
        trees: Arc<TreeEnsemble>,
        background: &Background,
        link: Link,
        algorithm: Algorithm,
    ) -> Result<TreeShap, ExplainError> {
        Self::check(&trees, link)?;
        check_width(&trees, background.rows.ncols())?;
        let n_bg = background.len();
        let directions = directions(&trees, background);
        let mut mean_raw = vec![0f64; trees.n_targets];
        for (z, &w) in background.rows.rows().into_iter().zip(&background.weights) {
            let z = z.to_vec();
            for (m, r) in mean_raw.iter_mut().zip(trees.raw(&z)) {
                *m += w * r;
            }
        }
        let groups = groups(&trees, &directions, &background.weights);
        let use_tables = match algorithm {
            Algorithm::Groups => false,
            Algorithm::Tables => true,
            Algorithm::Auto => tables_pay(&trees, n_bg, &groups),
        };
        let tables = if use_tables {
            LeafTables::new(&trees, &directions, &background.weights)
        } else {
            None
        };
        Ok(TreeShap {
            trees,
            link,
            state: State::Interventional {
                directions,
                weights: background.weights.clone(),
                groups,
                mean_raw,
                tables,
            },
        })
    }

    /// The algorithm [`TreeShap::interventional`] uses for `trees` against `background`.
    pub fn interventional_algorithm(trees: &TreeEnsemble, background: &Background) -> Algorithm {
        let directions = directions(trees, background);
        let groups = groups(trees, &directions, &background.weights);
        if tables_pay(trees, background.len(), &groups) {
            Algorithm::Tables
        } else {
            Algorithm::Groups
        }
    }
}

/// Which way each background row goes at each node: `node * rows + row`.
fn directions(trees: &TreeEnsemble, background: &Background) -> Vec<bool> {
    let n_bg = background.len();
    let mut directions = vec![false; trees.nodes.len() * n_bg];
    directions
        .par_chunks_mut(n_bg)
        .zip(trees.nodes.par_iter())
        .for_each(|(dirs, node)| {
            if !node.is_leaf() {
                for (d, z) in dirs.iter_mut().zip(background.rows.rows()) {
                    *d = node.goes_true(z[node.feature as usize]);
                }
            }
        });
    directions
}

/// Per tree, the background rows that go the same way at every one of its nodes, as (one of
/// them, their total weight).
fn groups(trees: &TreeEnsemble, directions: &[bool], weights: &[f64]) -> Vec<Vec<(usize, f64)>> {
    let n_bg = weights.len();
    (0..trees.n_trees())
        .into_par_iter()
        .map(|tree| {
            let start = trees.roots[tree] as usize;
            let end = trees
                .roots
                .get(tree + 1)
                .map_or(trees.nodes.len(), |&r| r as usize);
            let mut index: std::collections::HashMap<Vec<bool>, usize> = Default::default();
            let mut groups: Vec<(usize, f64)> = Vec::new();
            for (b, &w) in weights.iter().enumerate() {
                let key: Vec<bool> = (start..end).map(|i| directions[i * n_bg + b]).collect();
                let g = *index.entry(key).or_insert_with(|| {
                    groups.push((b, 0.0));
                    groups.len() - 1
                });
                groups[g].1 += w;
            }
            groups
        })
        .collect()
}

/// Whether the leaf tables are faster than the walks per group (`groups`) per row, and pay for
/// their build within [`PAYBACK_ROWS`] rows. The choice depends on the trees and the background
/// only, never on the rows explained, so every shard of a run makes the same one.
fn tables_pay(trees: &TreeEnsemble, n_bg: usize, groups: &[Vec<(usize, f64)>]) -> bool {
    // A walk visits about twice the depth in nodes; the tables cost one lookup per leaf.
    let walk_row: f64 =
        groups.iter().map(|g| g.len() as f64).sum::<f64>() * 2.0 * (trees.max_depth + 1) as f64;
    LeafTables::cost(trees, n_bg)
        .is_some_and(|(build, row)| row < walk_row && build <= PAYBACK_ROWS * walk_row)
}

/// Adds the attributions of row `x` to `phi` (features × targets, row-major): one walk per tree
/// and group of background rows, with `directions` and `weights` as prepared.
pub(super) fn attribute(
    t: &TreeEnsemble,
    x: &[f32],
    directions: &[bool],
    weights: &[f64],
    groups: &[Vec<(usize, f64)>],
    phi: &mut [f64],
) {
    let xdir: Vec<bool> = t
        .nodes
        .iter()
        .map(|n| !n.is_leaf() && n.goes_true(x[n.feature as usize]))
        .collect();
    let mut walk = Interventional {
        trees: t,
        xdir: &xdir,
        directions,
        n_bg: weights.len(),
        b: 0,
        weight: 0.0,
        state: vec![0u8; x.len()],
        xs: Vec::with_capacity(t.max_depth),
        zs: Vec::with_capacity(t.max_depth),
        coef: coefficients(t.max_depth + 1),
        phi,
    };
    let scale = t.leaf_scale();
    for (&root, groups) in t.roots.iter().zip(groups) {
        for &(b, w) in groups {
            walk.b = b;
            walk.weight = w * scale;
            walk.walk(root);
        }
    }
}

/// `coef[a][b] = (a−1)!·b!/(a+b)!` for a ≥ 1: the Shapley value of each of the `a` features a
/// leaf needs present, in a game where it also needs `b` features absent.
pub(super) fn coefficients(n: usize) -> Vec<Vec<f64>> {
    let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
    (0..=n)
        .map(|a| {
            (0..=n)
                .map(|b| {
                    if a == 0 {
                        0.0
                    } else {
                        fact(a - 1) * fact(b) / fact(a + b)
                    }
                })
                .collect()
        })
        .collect()
}

/// One walk per (tree, background row): features split differently by `x` and `z` are tracked
/// as "from x" (`xs`) or "from z" (`zs`), and each reached leaf shares its value among them.
struct Interventional<'a> {
    trees: &'a TreeEnsemble,
    xdir: &'a [bool],
    directions: &'a [bool],
    n_bg: usize,
    b: usize,
    weight: f64,
    /// Per feature: 0 not yet split on, 1 in `xs`, 2 in `zs`.
    state: Vec<u8>,
    xs: Vec<u32>,
    zs: Vec<u32>,
    coef: Vec<Vec<f64>>,
    phi: &'a mut [f64],
}

impl Interventional<'_> {
    fn walk(&mut self, i: u32) {
        let node: &Node = &self.trees.nodes[i as usize];
        if node.is_leaf() {
            let (a, b) = (self.xs.len(), self.zs.len());
            if a + b == 0 {
                return;
            }
            let k = self.trees.n_targets;
            for &(t, v) in self.trees.weights(node) {
                let v = v * self.weight;
                if a > 0 {
                    let c = v * self.coef[a][b];
                    for &f in &self.xs {
                        self.phi[f as usize * k + t as usize] += c;
                    }
                }
                if b > 0 {
                    let c = v * self.coef[b][a];
                    for &f in &self.zs {
                        self.phi[f as usize * k + t as usize] -= c;
                    }
                }
            }
            return;
        }
        let f = node.feature as usize;
        let (yes, no) = (node.yes, node.no);
        let next = |goes_true: bool| if goes_true { yes } else { no };
        let xd = self.xdir[i as usize];
        let zd = self.directions[i as usize * self.n_bg + self.b];
        match self.state[f] {
            1 => self.walk(next(xd)),
            2 => self.walk(next(zd)),
            _ if xd == zd => self.walk(next(xd)),
            _ => {
                self.state[f] = 1;
                self.xs.push(f as u32);
                self.walk(next(xd));
                self.xs.pop();
                self.state[f] = 2;
                self.zs.push(f as u32);
                self.walk(next(zd));
                self.zs.pop();
                self.state[f] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_trees::{brute_shapley, random_ensemble, random_rows};
    use super::*;

    #[test]
    fn interventional_tree_shap_equals_enumeration() {
        let m = 10;
        let e = Arc::new(random_ensemble(m, 12, 5, 1));
        let data = random_rows(40, m, 2);
        let background =
            Background::pick(data.view(), 7, crate::explain::BackgroundMethod::First, 0).unwrap();
        let shap = TreeShap::interventional(e.clone(), &background, Link::Identity).unwrap();
        for r in [20, 27, 33] {
            let x = data.row(r).to_vec();
            let got = shap.attribution(data.row(r), &[0, 1]);
            for t in 0..2 {
                let want = brute_shapley(m, |s| {
                    background
                        .rows
                        .rows()
                        .into_iter()
                        .zip(&background.weights)
                        .map(|(z, w)| {
                            let h: Vec<f32> =
                                (0..m).map(|j| if s[j] { x[j] } else { z[j] }).collect();
                            w * e.raw(&h)[t]
                        })
                        .sum()
                });
                for (j, want_j) in want.iter().enumerate() {
                    assert!(
                        (got[t].values[j] - want_j).abs() < 1e-9,
                        "row {r} target {t} feature {j}: {} vs {}",
                        got[t].values[j],
                        want_j
                    );
                }
                let sum: f64 = got[t].values.iter().sum();
                assert!((got[t].base_value + sum - got[t].output_value).abs() < 1e-9);
                let base = [0.25, -1.0][t];
                assert!((got[t].output_value - base - e.raw(&x)[t]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn leaf_tables_equal_walks_and_enumeration() {
        let m = 9;
        for (trees, depth, n_bg, seed) in [(6, 4, 5, 3), (10, 6, 40, 4), (3, 8, 120, 5)] {
            let e = Arc::new(random_ensemble(m, trees, depth, seed));
            let data = random_rows(n_bg + 6, m, seed + 10);
            let weights: Vec<f64> = (0..n_bg).map(|i| (1 + i % 3) as f64).collect();
            let total: f64 = weights.iter().sum();
            let background = Background {
                rows: data.slice(ndarray::s![..n_bg, ..]).to_owned(),
                weights: weights.iter().map(|w| w / total).collect(),
            };
            let walks = TreeShap::interventional_with(
                e.clone(),
                &background,
                Link::Identity,
                Algorithm::Groups,
            )
            .unwrap();
            let tables = TreeShap::interventional_with(
                e.clone(),
                &background,
                Link::Identity,
                Algorithm::Tables,
            )
            .unwrap();
            assert_eq!(walks.algorithm(), Some(Algorithm::Groups));
            assert_eq!(tables.algorithm(), Some(Algorithm::Tables));
            for r in n_bg..n_bg + 6 {
                let x = data.row(r).to_vec();
                let a = walks.raw_attributions(&x);
                let b = tables.raw_attributions(&x);
                for (p, q) in a.iter().zip(&b) {
                    assert!((p - q).abs() < 1e-9, "row {r}: {p} vs {q}");
                }
                if r == n_bg {
                    let want = brute_shapley(m, |s| {
                        background
                            .rows
                            .rows()
                            .into_iter()
                            .zip(&background.weights)
                            .map(|(z, w)| {
                                let h: Vec<f32> =
                                    (0..m).map(|j| if s[j] { x[j] } else { z[j] }).collect();
                                w * e.raw(&h)[1]
                            })
                            .sum()
                    });
                    for (j, want_j) in want.iter().enumerate() {
                        assert!((b[j * 2 + 1] - want_j).abs() < 1e-9, "feature {j}");
                    }
                }
            }
        }
    }

    #[test]
    // `a` and `b` index the table both ways round.
    #[allow(clippy::needless_range_loop)]
    fn coefficients_are_shapley_weights_of_and_games() {
        let c = coefficients(4);
        assert_eq!(c[1][0], 1.0);
        assert_eq!(c[2][0], 0.5);
        assert_eq!(c[1][1], 0.5);
        assert!((c[2][1] - 1.0 / 6.0).abs() < 1e-15);
        // Efficiency of the AND game: a·c[a][b] − b·c[b][a] = 1 if b = 0 else 0.
        for a in 1..4 {
            for b in 1..4 {
                assert!((a as f64 * c[a][b] - b as f64 * c[b][a]).abs() < 1e-15);
            }
        }
    }
}
