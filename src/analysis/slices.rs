//! Error slices: regions of the data, described by one or two feature thresholds, where the
//! model is wrong far more often than overall.
//!
//! Every feature is cut at its deciles; each cut gives two candidate slices (`x ≤ t`, `x > t`).
//! A category column is not cut in its codes' order: every subset of its categories is a
//! candidate (`island is Biscoe or Dream`; for columns of more than
//! [`SUBSET_CATEGORIES`] categories, each category and the rest). The best single conditions are then paired across features. A slice is kept only if the
//! lower end of the 95% Wilson interval of its error rate is above the overall error rate, and
//! scored by how many errors that excess rate accounts for, `(lower − overall) · errors`: a
//! high rate on many rows beats the same rate on a few, and chance highs in small slices are
//! discounted. Slices that cover nearly the same rows as a better one are dropped.

use std::fmt::Write;

use ndarray::ArrayView2;

use crate::data::Categories;

/// Category columns with at most this many categories are searched over every subset of
/// them (2^k − 2 candidates); larger ones over each category against the rest.
pub const SUBSET_CATEGORIES: usize = 10;

/// `x[feature] > threshold` when `above`, else `x[feature] ≤ threshold`; or, with `among`, the
/// category codes whose bits are set (code `c` is bit `c`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Condition {
    pub feature: usize,
    pub above: bool,
    pub threshold: f32,
    pub among: Option<u64>,
}

impl Condition {
    fn holds(&self, x: f32) -> bool {
        if let Some(set) = self.among {
            return code_bit(x).is_some_and(|b| set >> b & 1 == 1);
        }
        if self.above {
            x > self.threshold
        } else {
            x <= self.threshold
        }
    }
}

/// The bit of category code `x`, when it is a whole number below 64.
fn code_bit(x: f32) -> Option<u32> {
    ((0.0..64.0).contains(&x) && x.fract() == 0.0).then_some(x as u32)
}

/// The subsets of `categories` searched as slices, as code bit sets; `None` when the codes
/// are not small whole numbers (the column is then cut like a number).
fn category_sets(categories: &Categories) -> Option<Vec<u64>> {
    let bits: Vec<u32> = categories
        .0
        .iter()
        .map(|(_, c)| code_bit(*c))
        .collect::<Option<_>>()?;
    let k = bits.len();
    if k < 2 {
        return Some(Vec::new());
    }
    let set_of = |chosen: u64| -> u64 {
        (0..k)
            .filter(|i| chosen >> i & 1 == 1)
            .fold(0, |set, i| set | 1u64 << bits[i])
    };
    let all = set_of((1u64 << k) - 1);
    Some(if k <= SUBSET_CATEGORIES {
        (1..(1u64 << k) - 1).map(set_of).collect()
    } else {
        (0..k)
            .flat_map(|i| {
                let one = set_of(1 << i);
                [one, all & !one]
            })
            .collect()
    })
}

/// A slice of the data and how the model does on it.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    pub conditions: Vec<Condition>,
    /// The rows in the slice.
    pub rows: Vec<usize>,
    /// Misclassified rows in the slice.
    pub errors: usize,
    pub error_rate: f64,
    /// The slice's errors as a share of all errors.
    pub share_of_errors: f64,
    /// Errors beyond the overall rate, counted at the lower end of the 95% Wilson interval of
    /// the slice's error rate (the ranking score).
    pub score: f64,
}

impl Slice {
    /// The conditions in words: `worst area > 868.2 and mean texture ≤ 17.2`; a cut of a text
    /// feature (of its `categories`) as the categories it keeps: `island is Dream or Torgersen`.
    pub fn describe(&self, feature_names: &[String], categories: &[Option<Categories>]) -> String {
        let mut out = String::new();
        for (i, c) in self.conditions.iter().enumerate() {
            if i > 0 {
                out.push_str(" and ");
            }
            let name = feature_names
                .get(c.feature)
                .cloned()
                .unwrap_or_else(|| format!("feature {}", c.feature));
            if let Some(cats) = categories.get(c.feature).and_then(Option::as_ref) {
                let kept: Vec<&str> = cats
                    .0
                    .iter()
                    .filter(|(_, code)| c.holds(*code))
                    .map(|(n, _)| n.as_str())
                    .collect();
                let _ = write!(out, "{name} is {}", kept.join(" or "));
                continue;
            }
            let _ = write!(
                out,
                "{name} {} {}",
                if c.above { ">" } else { "≤" },
                crate::short_number(c.threshold as f64)
            );
        }
        out
    }
}

/// What the search looks for.
#[derive(Clone, Copy, Debug)]
pub struct SliceSearch {
    /// Smallest slice reported, in rows.
    pub min_support: usize,
    /// Cuts per feature (quantiles).
    pub cuts: usize,
    /// Slices returned.
    pub top: usize,
}

impl SliceSearch {
    /// Defaults for `n` rows: slices of at least max(10, 2% of rows), deciles, ten slices.
    pub fn for_rows(n: usize) -> Self {
        SliceSearch {
            min_support: (n / 50).max(10),
            cuts: 9,
            top: 10,
        }
    }
}

/// Lower end of the 95% Wilson score interval for `k` successes in `n` trials.
pub fn wilson_lower(k: usize, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let z = 1.96f64;
    let (n, p) = (n as f64, k as f64 / n as f64);
    let centre = p + z * z / (2.0 * n);
    let spread = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt();
    (centre - spread) / (1.0 + z * z / n)
}

/// The slices of `rows` (rows of `x`) where `wrong` is true far more often than overall;
/// `categories[j]` names column j's categories when it has them.
pub fn find_slices(
    x: ArrayView2<f32>,
    wrong: &[bool],
    rows: &[usize],
    search: SliceSearch,
    categories: &[Option<Categories>],
) -> Vec<Slice> {
    let total_errors = rows.iter().filter(|&&r| wrong[r]).count();
    if rows.is_empty() || total_errors == 0 {
        return Vec::new();
    }
    let overall = total_errors as f64 / rows.len() as f64;
    let make = |conditions: Vec<Condition>, members: Vec<usize>| -> Option<Slice> {
        if members.len() < search.min_support || members.len() == rows.len() {
            return None;
        }
        let errors = members.iter().filter(|&&r| wrong[r]).count();
        let lower = wilson_lower(errors, members.len());
        let score = (lower - overall) * errors as f64;
        (lower > overall).then(|| Slice {
            error_rate: errors as f64 / members.len() as f64,
            share_of_errors: errors as f64 / total_errors as f64,
            score,
            errors,
            rows: members,
            conditions,
        })
    };

    // Single conditions at each feature's quantiles.
    let mut singles: Vec<Slice> = Vec::new();
    let mut single = |c: Condition| {
        let members: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&r| c.holds(x[[r, c.feature]]))
            .collect();
        singles.extend(make(vec![c], members));
    };
    for j in 0..x.ncols() {
        if let Some(sets) = categories
            .get(j)
            .and_then(Option::as_ref)
            .and_then(category_sets)
        {
            for set in sets {
                single(Condition {
                    feature: j,
                    above: false,
                    threshold: f32::NAN,
                    among: Some(set),
                });
            }
            continue;
        }
        let mut values: Vec<f32> = rows.iter().map(|&r| x[[r, j]]).collect();
        values.sort_by(f32::total_cmp);
        values.dedup();
        let mut cuts: Vec<f32> = (1..=search.cuts)
            .map(|q| values[(q * values.len() / (search.cuts + 1)).min(values.len() - 1)])
            .collect();
        cuts.dedup();
        for &t in &cuts {
            for above in [false, true] {
                single(Condition {
                    feature: j,
                    above,
                    threshold: t,
                    among: None,
                });
            }
        }
    }
    singles.sort_by(|a, b| b.score.total_cmp(&a.score));

    // Pairs of the best single conditions on different features, kept when better than both.
    let seeds: Vec<&Slice> = singles.iter().take(30).collect();
    let mut pairs = Vec::new();
    for (i, a) in seeds.iter().enumerate() {
        for b in &seeds[i + 1..] {
            let (ca, cb) = (a.conditions[0], b.conditions[0]);
            if ca.feature == cb.feature {
                continue;
            }
            let members: Vec<usize> = a
                .rows
                .iter()
                .copied()
                .filter(|&r| cb.holds(x[[r, cb.feature]]))
                .collect();
            if let Some(s) = make(vec![ca, cb], members)
                && s.score > a.score
                && s.score > b.score
            {
                pairs.push(s);
            }
        }
    }

    let mut all = singles;
    all.extend(pairs);
    all.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut chosen: Vec<Slice> = Vec::new();
    for s in all {
        if chosen.len() >= search.top {
            break;
        }
        if chosen.iter().all(|c| jaccard(&c.rows, &s.rows) < 0.8) {
            chosen.push(s);
        }
    }
    chosen
}

/// |A ∩ B| / |A ∪ B| of two sorted row lists.
fn jaccard(a: &[usize], b: &[usize]) -> f64 {
    let (mut i, mut j, mut both) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn recovers_a_planted_slice() {
        // Errors concentrate where x3 > 0.7 (60%), elsewhere 3%; five uniform features.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 2000;
        let x = Array2::from_shape_fn((n, 5), |_| rng.random::<f32>());
        let wrong: Vec<bool> = (0..n)
            .map(|r| rng.random_bool(if x[[r, 3]] > 0.7 { 0.6 } else { 0.03 }))
            .collect();
        let rows: Vec<usize> = (0..n).collect();
        let slices = find_slices(x.view(), &wrong, &rows, SliceSearch::for_rows(n), &[]);
        let top = &slices[0];
        assert_eq!(top.conditions.len(), 1, "{:?}", top.conditions);
        let c = top.conditions[0];
        assert_eq!((c.feature, c.above), (3, true));
        assert!(
            (c.threshold - 0.7).abs() < 0.05,
            "threshold {}",
            c.threshold
        );
        assert!(top.error_rate > 0.5 && top.share_of_errors > 0.7, "{top:?}");
        let names: Vec<String> = (0..5).map(|j| format!("x{j}")).collect();
        assert!(
            top.describe(&names, &[]).starts_with("x3 > 0.7"),
            "{}",
            top.describe(&names, &[])
        );
    }

    #[test]
    fn no_errors_no_slices_and_wilson_is_sane() {
        let x = Array2::<f32>::zeros((20, 2));
        assert!(
            find_slices(
                x.view(),
                &[false; 20],
                &(0..20).collect::<Vec<_>>(),
                SliceSearch::for_rows(20),
                &[]
            )
            .is_empty()
        );
        assert!(wilson_lower(0, 10) < 1e-12);
        assert!((wilson_lower(50, 100) - 0.4038).abs() < 1e-3);
    }

    #[test]
    fn a_slice_of_categories_apart_in_code_order_is_found_as_a_subset() {
        // Errors where the colour is red (code 0) or blue (code 2): no cut of the codes keeps
        // exactly those two.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 2000;
        let x = Array2::from_shape_fn((n, 2), |(_, j)| match j {
            0 => rng.random_range(0..4) as f32,
            _ => rng.random::<f32>(),
        });
        let wrong: Vec<bool> = (0..n)
            .map(|r| {
                rng.random_bool(if x[[r, 0]] == 0.0 || x[[r, 0]] == 2.0 {
                    0.4
                } else {
                    0.02
                })
            })
            .collect();
        let colours = Categories(
            ["red", "green", "blue", "grey"]
                .iter()
                .enumerate()
                .map(|(i, n)| (n.to_string(), i as f32))
                .collect(),
        );
        let cats = vec![Some(colours), None];
        let rows: Vec<usize> = (0..n).collect();
        let slices = find_slices(x.view(), &wrong, &rows, SliceSearch::for_rows(n), &cats);
        let names = vec!["colour".to_string(), "size".to_string()];
        assert_eq!(slices[0].describe(&names, &cats), "colour is red or blue");
        assert_eq!(slices[0].conditions[0].among, Some(0b101));
        // Without the categories the same column is cut by its codes and misses the slice.
        let cut = find_slices(x.view(), &wrong, &rows, SliceSearch::for_rows(n), &[]);
        assert!(cut[0].score < slices[0].score, "{:?}", cut[0]);
    }

    #[test]
    fn a_cut_of_a_category_reads_as_the_categories_it_keeps() {
        let slice = Slice {
            conditions: vec![Condition {
                feature: 0,
                above: false,
                threshold: 1.0,
                among: None,
            }],
            rows: vec![],
            errors: 0,
            error_rate: 0.0,
            share_of_errors: 0.0,
            score: 0.0,
        };
        let cats = vec![Some(Categories(vec![
            ("Biscoe".into(), 0.0),
            ("Dream".into(), 1.0),
            ("Torgersen".into(), 2.0),
        ]))];
        assert_eq!(
            slice.describe(&["island".to_string()], &cats),
            "island is Biscoe or Dream"
        );
        assert_eq!(
            slice.describe(&["island".to_string()], &[]),
            "island ≤ 1.00"
        );
    }
}
