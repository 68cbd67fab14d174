//! The case identifier: the column that names each row (`patient_id`, `case`, …), shown beside
//! the row number in the window and on the report. It is one of the columns the data loader left
//! out of the features, so it is never used as one: the card's `id_column`, else the first left-out
//! column named like an identifier.

use crate::data::{Dataset, Table};

/// Names (lower case, `_` for spaces and hyphens) a case identifier column may have.
const ID_NAMES: [&str; 12] = [
    "id",
    "case",
    "case_id",
    "patient",
    "patient_id",
    "subject",
    "subject_id",
    "sample",
    "sample_id",
    "record",
    "record_id",
    "mrn",
];

/// Each row's identifier, read from `column`.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseIds {
    pub column: String,
    pub values: Vec<String>,
}

/// True for a column name that reads as a case identifier (`id`, `Patient ID`, `lesion_id`).
pub fn is_id_name(name: &str) -> bool {
    let key: String = name
        .trim()
        .chars()
        .map(|c| {
            if c == ' ' || c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    ID_NAMES.contains(&key.as_str()) || key.ends_with("_id")
}

/// The identifiers of `table`'s rows as `data` was read from it: the card's `id_column`
/// (`named`), else the first column left out of the features named like an identifier. An
/// `id_column` that is not in the file, or that is a feature, the label or the split, is an
/// error with its reason.
pub fn find(table: &Table, data: &Dataset, named: Option<&str>) -> Result<Option<CaseIds>, String> {
    let column = match named {
        Some(name) => {
            if !table.header.iter().any(|h| h == name) {
                return Err(format!(
                    "the card's id_column `{name}` is not a column of {}",
                    data.source
                ));
            }
            if !data.ignored_columns.iter().any(|c| c == name) {
                return Err(format!(
                    "the card's id_column `{name}` is read as a feature, the label or the \
                     split of {}; an identifier must be a column of its own",
                    data.source
                ));
            }
            name.to_string()
        }
        None => match data.ignored_columns.iter().find(|c| is_id_name(c)) {
            Some(c) => c.clone(),
            None => return Ok(None),
        },
    };
    let Some(ix) = table.column(&column) else {
        return Ok(None);
    };
    let values: Vec<String> = (0..table.n_rows())
        .map(|r| table.cell(r, ix).trim().to_string())
        .collect();
    if values.len() != data.len() {
        return Ok(None);
    }
    Ok(Some(CaseIds { column, values }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_names_are_recognised_and_measurements_are_not() {
        for name in [
            "id",
            "ID",
            "patient_id",
            "Patient ID",
            "case",
            "lesion_id",
            "sample-id",
        ] {
            assert!(is_id_name(name), "{name}");
        }
        for name in ["mean radius", "identity", "idx_score", "valid", "diagnosis"] {
            assert!(!is_id_name(name), "{name}");
        }
    }
}
