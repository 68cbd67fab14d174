//! Feature groups: columns declared to play as one. A group's value is the Shapley value of
//! the game in which it is one player (checked against enumeration over the players, from the
//! model's own predictions), which is not the sum of its columns' values in the game of
//! single columns (shown on a three-way interaction where the two differ in closed form).

mod common;

use common::{brute_force, brute_force_players, sample};

use loupe::data::{Dataset, Table};
use loupe::explain::exact::Exact;
use loupe::explain::game::{NoProgress, Predict};
use loupe::explain::permutation::PermutationShap;
use loupe::explain::run::{RowExplanation, RowsGame, explain_rows_of};
use loupe::explain::{Background, BackgroundMethod, Explainer, Group, Link, Players};
use loupe::model::{ModelError, OnnxModel};
use ndarray::{Array2, ArrayView2};

fn explain(
    model: &dyn Predict,
    x: ArrayView2<f32>,
    rows: &[usize],
    explainer: &dyn Explainer,
    bg: &Background,
    players: Option<&Players>,
    target: usize,
) -> Vec<RowExplanation> {
    let game = RowsGame {
        model,
        background: bg,
        link: Link::Identity,
        players,
    };
    explain_rows_of(&game, x, rows, &|_| vec![target], explainer, 0, &NoProgress).unwrap()
}

fn penguins() -> (OnnxModel, Dataset) {
    let model = OnnxModel::load(&sample("penguins_pipeline.onnx")).unwrap();
    let table = Table::from_path(&sample("penguins.csv")).unwrap();
    let data = Dataset::from_table(&table, loupe::session::schema_for(&model, None)).unwrap();
    (model, data)
}

#[test]
fn a_group_is_valued_as_one_player_of_the_raw_column_game() {
    let (model, data) = penguins();
    // island, sex, bill_length, bill_depth, flipper, mass: the bill and the body as groups.
    let groups = Group::parse_list(
        "bill = bill_length_mm, bill_depth_mm; body = flipper_length_mm, body_mass_g",
    )
    .unwrap();
    let players = Players::grouped(&data.feature_names, &groups).unwrap();
    assert_eq!(players.names(), ["island", "sex", "bill", "body"]);
    let members: Vec<Vec<usize>> = (0..players.len())
        .map(|p| players.members(p).to_vec())
        .collect();
    let bg = Background::pick(data.x.view(), 25, BackgroundMethod::Random, 5).unwrap();
    let rows = [0, 150, 300];
    for target in [0, 1] {
        for e in explain(
            &model,
            data.x.view(),
            &rows,
            &Exact,
            &bg,
            Some(&players),
            target,
        ) {
            let x = data.x.row(e.row).to_vec();
            let truth = brute_force_players(&model, &x, &bg, target, &members);
            assert_eq!(e.attribution.values.len(), 4);
            for (p, (got, want)) in e.attribution.values.iter().zip(&truth).enumerate() {
                assert!(
                    (got - want).abs() < 1e-6,
                    "row {} class {target} player {p}: {got} vs {want}",
                    e.row
                );
            }
            let sum: f64 = e.attribution.values.iter().sum();
            let gap = e.attribution.output_value - e.attribution.base_value;
            assert!((sum - gap).abs() < 1e-6, "{sum} vs {gap}");
        }
    }
    // The grouped game is a different game: the bill's value is not its columns' sum.
    let single = brute_force(&model, data.x.row(0).as_slice().unwrap(), &bg, 1);
    let grouped = brute_force_players(&model, &data.x.row(0).to_vec(), &bg, 1, &members);
    assert!(
        (grouped[2] - (single[2] + single[3])).abs() > 1e-4,
        "{grouped:?} vs {single:?}"
    );
}

#[test]
fn sampled_group_values_cover_the_exact_ones() {
    let (model, data) = penguins();
    let groups = Group::parse_list("bill = bill_length_mm, bill_depth_mm").unwrap();
    let players = Players::grouped(&data.feature_names, &groups).unwrap();
    let bg = Background::pick(data.x.view(), 20, BackgroundMethod::Random, 1).unwrap();
    let rows: Vec<usize> = (0..300).step_by(20).collect();
    let exact = explain(&model, data.x.view(), &rows, &Exact, &bg, Some(&players), 1);
    let sampled = PermutationShap {
        budget: 200,
        tolerance: None,
        background_rows: loupe::explain::kernel::DEFAULT_BACKGROUND_ROWS,
    };
    let got = explain(
        &model,
        data.x.view(),
        &rows,
        &sampled,
        &bg,
        Some(&players),
        1,
    );
    let (covered, total) = coverage(&exact, &got);
    let share = covered as f64 / total as f64;
    assert!(share >= 0.9, "{covered} of {total}");
}

/// How many (row, player) values of `sampled` have 95% intervals holding the `exact` ones,
/// of how many (five players per row).
fn coverage(exact: &[RowExplanation], sampled: &[RowExplanation]) -> (usize, usize) {
    let (mut covered, mut total) = (0, 0);
    for (e, s) in exact.iter().zip(sampled) {
        let err = s.attribution.std_err.as_ref().unwrap();
        assert_eq!(s.attribution.values.len(), 5);
        for ((got, want), err) in s
            .attribution
            .values
            .iter()
            .zip(&e.attribution.values)
            .zip(err)
        {
            total += 1;
            covered += usize::from((got - want).abs() <= 1.96 * err + 1e-9);
        }
    }
    (covered, total)
}

/// f(x) = x0 · x1 · x2: against a zero background each column of the row (1, 1, 1) gets a
/// third of f; with x0 and x1 one player, that player gets half.
struct Product;

impl Predict for Product {
    fn predict(&self, x: ArrayView2<f32>) -> Result<Array2<f32>, ModelError> {
        Ok(Array2::from_shape_fn((x.nrows(), 1), |(r, _)| {
            x[[r, 0]] * x[[r, 1]] * x[[r, 2]]
        }))
    }
}

#[test]
fn a_group_of_interacting_columns_is_not_the_sum_of_their_values() {
    let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let x = Array2::from_elem((1, 3), 1f32);
    let bg = Background::all(Array2::<f32>::zeros((1, 3)).view()).unwrap();
    let single = explain(&Product, x.view(), &[0], &Exact, &bg, None, 0);
    let players = Players::grouped(&names, &Group::parse_list("ab = a, b").unwrap()).unwrap();
    let grouped = explain(&Product, x.view(), &[0], &Exact, &bg, Some(&players), 0);
    let (s, g) = (
        &single[0].attribution.values,
        &grouped[0].attribution.values,
    );
    for v in s {
        assert!((v - 1.0 / 3.0).abs() < 1e-12, "{s:?}");
    }
    assert_eq!(players.names(), ["ab", "c"]);
    assert!(
        (g[0] - 0.5).abs() < 1e-12 && (g[1] - 0.5).abs() < 1e-12,
        "{g:?}"
    );
    assert!((g[0] - (s[0] + s[1])).abs() > 0.1);
}

#[test]
fn groups_hold_when_a_large_background_is_sampled_per_coalition() {
    // 200 background rows: kernel and permutation evaluate each coalition against a sample
    // of them; the grouped values still cover the exact ones over the whole background.
    let (model, data) = penguins();
    let groups = Group::parse_list("bill = bill_length_mm, bill_depth_mm").unwrap();
    let players = Players::grouped(&data.feature_names, &groups).unwrap();
    let bg = Background::pick(data.x.view(), 200, BackgroundMethod::Random, 2).unwrap();
    let rows: Vec<usize> = (0..330).step_by(30).collect();
    let exact = explain(&model, data.x.view(), &rows, &Exact, &bg, Some(&players), 1);
    let kernel = loupe::explain::kernel::KernelShap {
        budget: 200,
        tolerance: None,
    };
    let sampled = PermutationShap {
        budget: 200,
        tolerance: None,
        background_rows: loupe::explain::kernel::DEFAULT_BACKGROUND_ROWS,
    };
    for method in [&kernel as &dyn Explainer, &sampled] {
        let got = explain(&model, data.x.view(), &rows, method, &bg, Some(&players), 1);
        for s in &got {
            let sum: f64 = s.attribution.values.iter().sum();
            let gap = s.attribution.output_value - s.attribution.base_value;
            assert!((sum - gap).abs() < 1e-6, "{sum} vs {gap}");
        }
        let (covered, total) = coverage(&exact, &got);
        assert!(
            covered as f64 >= 0.85 * total as f64,
            "{covered} of {total}"
        );
    }
}
