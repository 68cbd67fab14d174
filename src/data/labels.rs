//! The label column: found by its values when no column is named like one, and read as the
//! model's classes (names, indices, or yes/no-style words for classes 0/1) or as numbers.

use super::cells::{binary_class, binary_words, class_index, is_numeric, parse_number, shorten};
use super::tabular::{Labels, Schema, cell_error};
use super::{DataError, Table};

/// Without a label column named like one: the one column that is not a feature (not named by
/// the card; without a card, not numeric — or words such as yes/no when there is one numeric
/// column too many) and not the split, whose every value names one of the
/// model's classes (or is a binary word for one). `None` when there is no such column, or more
/// than one.
pub(super) fn label_by_values(
    table: &Table,
    schema: &Schema,
    split_ix: Option<usize>,
) -> Option<usize> {
    if schema.class_names.is_empty() {
        return None;
    }
    let rows = 0..table.n_rows();
    let numeric = |c: usize| rows.clone().any(|r| is_numeric(table.cell(r, c)));
    // One numeric column more than the model takes: a column of yes/no words (read as
    // booleans, so numeric) may be the label.
    let one_too_many = (0..table.header.len())
        .filter(|&c| Some(c) != split_ix && numeric(c))
        .count()
        == schema.n_features + 1;
    let words = |c: usize| {
        rows.clone()
            .all(|r| !table.cell(r, c).is_empty() && table.cell(r, c).parse::<f64>().is_err())
    };
    let not_feature = |c: usize| match schema.feature_names {
        Some(names) => !names.iter().any(|n| *n == table.header[c]),
        None => !numeric(c) || (one_too_many && words(c)),
    };
    let pair = |c: usize| binary_words(rows.clone().map(|r| table.cell(r, c)), schema.class_names);
    let names_classes = |c: usize| {
        let pair = pair(c);
        rows.clone().all(|r| {
            let cell = table.cell(r, c);
            class_index(cell, schema.class_names).is_some()
                || pair.is_some_and(|p| binary_class(cell, p).is_some())
        })
    };
    let found: Vec<usize> = (0..table.header.len())
        .filter(|&c| Some(c) != split_ix && not_feature(c) && names_classes(c))
        .collect();
    match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

pub(super) fn parse_labels(
    table: &Table,
    column: usize,
    class_names: &[String],
    notes: &mut Vec<String>,
) -> Result<Labels, DataError> {
    if class_names.is_empty() {
        let values = (0..table.n_rows())
            .map(|r| {
                parse_number(table.cell(r, column)).map_err(|e| cell_error(table, r, column, e))
            })
            .collect::<Result<_, _>>()?;
        return Ok(Labels::Values(values));
    }
    let pair = binary_words(
        (0..table.n_rows()).map(|r| table.cell(r, column)),
        class_names,
    );
    if let Some((no, yes)) = pair {
        notes.push(format!(
            "labels `{no}`/`{yes}` in column `{}` read as the model's classes {} and {}",
            table.header[column], class_names[0], class_names[1]
        ));
    }
    let classes = (0..table.n_rows())
        .map(|r| {
            let cell = table.cell(r, column);
            let class =
                class_index(cell, class_names).or_else(|| pair.and_then(|p| binary_class(cell, p)));
            class.ok_or_else(|| {
                let reason = if cell.is_empty() {
                    "missing label".to_string()
                } else {
                    format!(
                        "label `{}` is not one of the model's classes ({})",
                        shorten(cell),
                        class_names.join(", ")
                    )
                };
                cell_error(table, r, column, reason)
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Labels::Classes(classes))
}
