//! Data: a CSV file read into a [`Table`] of text cells, then matched to a model's inputs as a
//! [`Dataset`] — a feature matrix, the labels mapped to the model's classes, and the train/test
//! split when the file records one. No hand-written schema: types, the label column and the
//! feature columns are inferred, and every mismatch is reported with its file, row and column.
//! How one cell is read (numbers, booleans, missing values, binary label words) is `cells`.

mod cells;
pub mod images;
mod labels;
pub mod parquet;
mod resize;
mod table;
mod tabular;

pub use cells::Categories;
pub use images::{ImageSet, ImageShape};
pub use table::{Limits, Table};
pub use tabular::{Dataset, Labels, Schema, Split, name_list};

/// Why data could not be read or matched to the model. One line, naming file, row and column.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },
    #[error("{file}: row {row} (line {line}), column `{column}`: {reason}")]
    Cell {
        file: String,
        row: usize,
        line: u64,
        column: String,
        reason: String,
    },
}
