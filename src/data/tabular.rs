//! Matching a [`Table`] to a model: which columns are the features (by the card's names, else by
//! header order and count), which is the label (by name, else by its values), which records the
//! split; every feature cell a finite number or boolean, or a missing value (NaN) where the
//! model handles them ([`Schema::missing_values`]).

use ndarray::Array2;

use super::cells::{is_numeric, parse_feature};
use super::labels::{label_by_values, parse_labels};
use super::{Categories, DataError, Table};

/// Names a label column may have when the user does not say (`--label`).
const LABEL_NAMES: [&str; 6] = ["label", "target", "class", "y", "diagnosis", "outcome"];
/// Name of the column recording the train/test split.
const SPLIT_NAME: &str = "split";

/// What the model expects of the data.
#[derive(Clone, Debug)]
pub struct Schema<'a> {
    /// Number of features per row.
    pub n_features: usize,
    /// Feature names from the model card; columns are then matched by name.
    pub feature_names: Option<&'a [String]>,
    /// The model's classes; empty for a regressor.
    pub class_names: &'a [String],
    /// The label column the user named, if any.
    pub label_column: Option<&'a str>,
    /// The model handles missing values (a blank cell or `NaN` is fed as NaN); else such a cell
    /// is an error naming its row and column.
    pub missing_values: bool,
    /// Per feature, in order: the categories of a text feature (its cells are read as their
    /// codes), `None` for a number. Empty when every feature is a number.
    pub categories: Vec<Option<Categories>>,
}

/// True labels, as class indices or as regression targets.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    Classes(Vec<usize>),
    Values(Vec<f32>),
}

/// Which part of the data a row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
    Other,
}

/// Rows matched to a model: features (rows × features), labels and split where present.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The file name, for messages and titles.
    pub source: String,
    pub feature_names: Vec<String>,
    pub x: Array2<f32>,
    pub label_column: Option<String>,
    pub labels: Option<Labels>,
    pub split: Option<Vec<Split>>,
    /// Columns that are neither a feature, the label nor the split (ids, notes, …).
    pub ignored_columns: Vec<String>,
    /// For image data: the images, their paths and how they became `x`.
    pub images: Option<std::sync::Arc<super::ImageSet>>,
    /// Per feature: the categories of a text feature (`x` holds their codes), `None` for a
    /// number. Empty when every feature is a number.
    pub categories: Vec<Option<Categories>>,
    /// How the file was read where a user should know (the label column found by its values,
    /// labels read as words for classes 0/1). One line each.
    pub notes: Vec<String>,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// True when there are no rows (never, for a dataset read from a file).
    pub fn is_empty(&self) -> bool {
        self.x.nrows() == 0
    }

    /// The reference rows — the population every explanation, percentile and range is
    /// measured against: the training split, or every row when the data record no training
    /// rows. Ascending.
    pub fn reference_indices(&self) -> Vec<usize> {
        let train: Vec<usize> = match &self.split {
            Some(split) => (0..split.len())
                .filter(|&r| split[r] == Split::Train)
                .collect(),
            None => Vec::new(),
        };
        if train.is_empty() {
            (0..self.len()).collect()
        } else {
            train
        }
    }

    /// True when the reference rows are the training split (not every row).
    pub fn reference_is_training(&self) -> bool {
        self.split
            .as_ref()
            .is_some_and(|s| s.contains(&Split::Train))
    }

    /// The reference rows' features (see [`Dataset::reference_indices`]).
    pub fn training_rows(&self) -> Array2<f32> {
        if !self.reference_is_training() {
            return self.x.clone();
        }
        self.x.select(ndarray::Axis(0), &self.reference_indices())
    }

    /// The reference rows' classes, when labelled.
    pub fn reference_classes(&self) -> Option<Vec<usize>> {
        let classes = self.classes()?;
        Some(
            self.reference_indices()
                .into_iter()
                .map(|r| classes[r])
                .collect(),
        )
    }

    /// The category feature `f`'s value `v` stands for, for a text feature.
    pub fn category_name(&self, f: usize, v: f32) -> Option<&str> {
        self.categories.get(f)?.as_ref()?.name(v)
    }

    /// Feature `f`'s value `v` as text: its category, else the number as `number` writes it
    /// (`missing` for NaN).
    pub fn value_text(&self, f: usize, v: f32, number: impl Fn(f32) -> String) -> String {
        match self.category_name(f, v) {
            Some(name) => name.to_string(),
            None if v.is_nan() => "missing".into(),
            None => number(v),
        }
    }

    /// Class index of each row's true label, for a labelled classification dataset.
    pub fn classes(&self) -> Option<&[usize]> {
        match &self.labels {
            Some(Labels::Classes(c)) => Some(c),
            _ => None,
        }
    }

    /// Matches `table` to `schema`.
    pub fn from_table(table: &Table, schema: Schema) -> Result<Dataset, DataError> {
        let invalid = |reason: String| DataError::Invalid {
            file: table.source.clone(),
            reason,
        };
        let is_card_feature = |name: &str| {
            schema
                .feature_names
                .is_some_and(|f| f.iter().any(|n| n == name))
        };

        let label_ix = match schema.label_column {
            Some(name) => Some(table.column(name).ok_or_else(|| {
                invalid(format!(
                    "no label column `{name}`; the columns are {}",
                    name_list(&table.header)
                ))
            })?),
            None => LABEL_NAMES
                .iter()
                .filter_map(|n| table.column(n))
                .find(|&ix| !is_card_feature(&table.header[ix])),
        };
        let split_ix = table
            .column(SPLIT_NAME)
            .filter(|&ix| Some(ix) != label_ix && !is_card_feature(&table.header[ix]));
        let mut notes = Vec::new();
        let label_ix = label_ix.or_else(|| {
            let found = label_by_values(table, &schema, split_ix)?;
            notes.push(format!(
                "no column is named like a label; took `{}`, whose values are the model's classes",
                table.header[found]
            ));
            Some(found)
        });

        let feature_ix = match schema.feature_names {
            Some(names) => by_name(table, names).map_err(invalid)?,
            None => by_order(table, &schema, label_ix, split_ix).map_err(invalid)?,
        };
        if feature_ix.len() != schema.n_features {
            return Err(invalid(format!(
                "the model takes {} features but its card names {}",
                schema.n_features,
                feature_ix.len()
            )));
        }

        let mut x = Array2::zeros((table.n_rows(), feature_ix.len()));
        let kind = |f: usize| schema.categories.get(f).and_then(|c| c.as_ref());
        for r in 0..table.n_rows() {
            for (f, &c) in feature_ix.iter().enumerate() {
                let cell = table.cell(r, c);
                x[[r, f]] = match kind(f) {
                    Some(categories) => categories.parse(cell),
                    None => parse_feature(cell, schema.missing_values),
                }
                .map_err(|reason| cell_error(table, r, c, reason))?;
            }
        }
        let labels = label_ix
            .map(|c| parse_labels(table, c, schema.class_names, &mut notes))
            .transpose()?;
        let split = split_ix.map(|c| {
            (0..table.n_rows())
                .map(|r| match table.cell(r, c).to_ascii_lowercase().as_str() {
                    "train" | "training" => Split::Train,
                    "test" | "testing" => Split::Test,
                    _ => Split::Other,
                })
                .collect()
        });
        let used: Vec<usize> = feature_ix
            .iter()
            .copied()
            .chain(label_ix)
            .chain(split_ix)
            .collect();
        Ok(Dataset {
            source: table.source.clone(),
            feature_names: feature_ix
                .iter()
                .map(|&c| table.header[c].clone())
                .collect(),
            x,
            label_column: label_ix.map(|c| table.header[c].clone()),
            labels,
            split,
            ignored_columns: (0..table.header.len())
                .filter(|c| !used.contains(c))
                .map(|c| table.header[c].clone())
                .collect(),
            images: None,
            categories: schema.categories.clone(),
            notes,
        })
    }
}

fn by_name(table: &Table, names: &[String]) -> Result<Vec<usize>, String> {
    let missing: Vec<&String> = names.iter().filter(|n| table.column(n).is_none()).collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} column{} the model takes {} missing: {}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            if missing.len() == 1 { "is" } else { "are" },
            name_list(&missing)
        ));
    }
    Ok(names.iter().filter_map(|n| table.column(n)).collect())
}

/// Without names from the card: every numeric column but the label and split, in header order,
/// and there must be exactly as many as the model takes. A model with text features takes
/// every column but the label and split.
fn by_order(
    table: &Table,
    schema: &Schema,
    label_ix: Option<usize>,
    split_ix: Option<usize>,
) -> Result<Vec<usize>, String> {
    let n_features = schema.n_features;
    let takes_text = schema.categories.iter().any(Option::is_some);
    let numeric: Vec<usize> = (0..table.header.len())
        .filter(|&c| Some(c) != label_ix && Some(c) != split_ix)
        .filter(|&c| takes_text || (0..table.n_rows()).any(|r| is_numeric(table.cell(r, c))))
        .collect();
    if numeric.len() == n_features {
        return Ok(numeric);
    }
    let names: Vec<&String> = numeric.iter().map(|&c| &table.header[c]).collect();
    Err(format!(
        "the model takes {n_features} features but the file has {} numeric columns ({}); \
         name the features in the model card or remove the extra columns",
        numeric.len(),
        name_list(&names)
    ))
}

pub(super) fn cell_error(table: &Table, row: usize, column: usize, reason: String) -> DataError {
    DataError::Cell {
        file: table.source.clone(),
        row,
        line: table.lines[row],
        column: table.header[column].clone(),
        reason,
    }
}

/// `a`, `b`, `c` … at most eight names, for messages.
pub fn name_list<S: AsRef<str>>(names: &[S]) -> String {
    const MAX: usize = 8;
    let mut shown: Vec<String> = names
        .iter()
        .take(MAX)
        .map(|n| format!("`{}`", n.as_ref()))
        .collect();
    if names.len() > MAX {
        shown.push(format!("and {} more", names.len() - MAX));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        Table::from_reader("t.csv", text.as_bytes()).unwrap()
    }

    fn classes() -> Vec<String> {
        vec!["malignant".into(), "benign".into()]
    }

    fn schema<'a>(n: usize, names: Option<&'a [String]>, classes: &'a [String]) -> Schema<'a> {
        Schema {
            n_features: n,
            feature_names: names,
            class_names: classes,
            label_column: None,
            missing_values: false,
            categories: Vec::new(),
        }
    }

    #[test]
    fn a_numeric_column_named_categorical_reads_as_its_values() {
        let c = classes();
        let mut d = Dataset::from_table(
            &table(
                "ward,age,diagnosis
3,50,benign
1,60,benign
3,70,malignant
",
            ),
            schema(2, None, &c),
        )
        .unwrap();
        d.read_as_categories(&["ward".into()]).unwrap();
        let ward = d.categories[0].as_ref().unwrap();
        assert_eq!(ward.0, [("1".to_string(), 1.0), ("3".to_string(), 3.0)]);
        assert_eq!(d.value_text(0, 3.0, |v| v.to_string()), "3");
        assert!(d.categories[1].is_none());
        // The model still reads the numbers.
        assert_eq!(d.x.column(0).to_vec(), [3.0, 1.0, 3.0]);
        assert_eq!(
            d.read_as_categories(&["bed".into()]).unwrap_err(),
            "the card's `categorical` names `bed`, which is not one of the features (`ward`, `age`)"
        );
    }

    #[test]
    fn label_and_split_found_by_name_features_by_order() {
        let c = classes();
        let d = Dataset::from_table(
            &table("a,diagnosis,b,split\n1,benign,2,train\n3,Malignant,4,test\n"),
            schema(2, None, &c),
        )
        .unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.x, ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(d.labels, Some(Labels::Classes(vec![1, 0])));
        assert_eq!(d.split, Some(vec![Split::Train, Split::Test]));
    }

    #[test]
    fn columns_reordered_in_the_file_are_matched_by_card_names() {
        let c = classes();
        let names = vec!["a".to_string(), "b".to_string()];
        let d = Dataset::from_table(
            &table("id,b,a,label\nx1,2,1,0\n"),
            schema(2, Some(&names), &c),
        )
        .unwrap();
        assert_eq!(d.x, ndarray::array![[1.0, 2.0]]);
        assert_eq!(d.ignored_columns, ["id"]);
        assert_eq!(
            d.labels,
            Some(Labels::Classes(vec![0])),
            "an index is a label too"
        );
    }

    #[test]
    fn missing_value_names_row_and_column() {
        let c = classes();
        let err = Dataset::from_table(&table("a,b\n1,2\n3,\n"), schema(2, None, &c)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: row 1 (line 3), column `b`: missing value"
        );
    }

    #[test]
    fn non_number_and_nan_are_errors_not_zeros() {
        let c = classes();
        let err = Dataset::from_table(&table("a,b\n1,2\nx,3\n"), schema(2, None, &c)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: row 1 (line 3), column `a`: `x` is not a number"
        );
        let err = Dataset::from_table(&table("a,b\n1,NaN\n"), schema(2, None, &c)).unwrap_err();
        assert!(
            err.to_string().ends_with("`NaN` is not a finite number"),
            "{err}"
        );
    }

    #[test]
    fn an_extra_numeric_column_is_a_named_mismatch() {
        let c = classes();
        let err =
            Dataset::from_table(&table("a,b,extra\n1,2,3\n"), schema(2, None, &c)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: the model takes 2 features but the file has 3 numeric columns (`a`, `b`, `extra`); \
             name the features in the model card or remove the extra columns"
        );
    }

    #[test]
    fn a_column_missing_from_the_card_is_named() {
        let c = classes();
        let names = vec!["a".to_string(), "zz".to_string()];
        let err =
            Dataset::from_table(&table("a,b\n1,2\n"), schema(2, Some(&names), &c)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: 1 column the model takes is missing: `zz`"
        );
    }

    #[test]
    fn unknown_label_is_reported() {
        let c = classes();
        let err =
            Dataset::from_table(&table("a,label\n1,maybe\n"), schema(1, None, &c)).unwrap_err();
        assert!(
            err.to_string()
                .contains("label `maybe` is not one of the model's classes (malignant, benign)")
        );
    }

    #[test]
    fn user_named_label_column_must_exist() {
        let c = classes();
        let s = Schema {
            label_column: Some("truth"),
            ..schema(1, None, &c)
        };
        let err = Dataset::from_table(&table("a,b\n1,2\n"), s).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: no label column `truth`; the columns are `a`, `b`"
        );
    }

    #[test]
    fn text_columns_are_ignored_without_a_card() {
        let c = classes();
        let d = Dataset::from_table(&table("name,a\nann,1\nbob,2\n"), schema(1, None, &c)).unwrap();
        assert_eq!(d.ignored_columns, ["name"]);
        assert!(d.labels.is_none());
    }

    #[test]
    fn dummy_columns_written_as_true_false_are_features() {
        // `pd.get_dummies(...).to_csv()`: the cause was `False` read as not a number, reported
        // as a column-count mismatch.
        let c = classes();
        let d = Dataset::from_table(
            &table("a,is_x,is_y,label\n1.5,True,False,0\n2,false,yes,1\n"),
            schema(3, None, &c),
        )
        .unwrap();
        assert_eq!(d.x, ndarray::array![[1.5, 1.0, 0.0], [2.0, 0.0, 1.0]]);
    }

    #[test]
    fn missing_values_are_nan_for_a_model_that_handles_them() {
        let c = classes();
        let s = Schema {
            missing_values: true,
            ..schema(2, None, &c)
        };
        let d = Dataset::from_table(&table("a,b\n1,\nNaN,2\n"), s).unwrap();
        assert!(d.x[[0, 1]].is_nan() && d.x[[1, 0]].is_nan());
        assert_eq!(d.x[[1, 1]], 2.0);
    }

    #[test]
    fn an_oddly_named_yes_no_column_one_too_many_is_the_label_not_a_feature() {
        // `work`: no name like a label, and yes/no cells read as booleans would make it a third
        // feature of a two-feature model.
        let numbers = vec!["0".to_string(), "1".to_string()];
        let d = Dataset::from_table(
            &table("a,b,work\n1,2,no\n3,4,yes\n"),
            schema(2, None, &numbers),
        )
        .unwrap();
        assert_eq!(d.label_column.as_deref(), Some("work"));
        assert_eq!(d.labels, Some(Labels::Classes(vec![0, 1])));
        assert_eq!(d.feature_names, ["a", "b"]);
        // With as many numeric columns as features, a yes/no column stays a feature.
        let d = Dataset::from_table(&table("a,work\n1,no\n3,yes\n"), schema(2, None, &numbers))
            .unwrap();
        assert_eq!(d.feature_names, ["a", "work"]);
    }

    #[test]
    fn binary_words_are_the_classes_zero_and_one_and_said_so() {
        let numbers = vec!["0".to_string(), "1".to_string()];
        let d = Dataset::from_table(&table("a,label\n1,no\n2,Yes\n"), schema(1, None, &numbers))
            .unwrap();
        assert_eq!(d.labels, Some(Labels::Classes(vec![0, 1])));
        assert_eq!(
            d.notes,
            ["labels `no`/`yes` in column `label` read as the model's classes 0 and 1"]
        );
        // Class names found in the model win over the words.
        let named = vec!["yes".to_string(), "no".to_string()];
        let d =
            Dataset::from_table(&table("a,label\n1,no\n2,yes\n"), schema(1, None, &named)).unwrap();
        assert_eq!(d.labels, Some(Labels::Classes(vec![1, 0])));
        assert!(d.notes.is_empty());
    }

    #[test]
    fn the_label_column_is_found_by_its_values_and_said_so() {
        let iris = vec!["setosa".to_string(), "versicolor".to_string()];
        let d = Dataset::from_table(
            &table("name,a,species\nann,1,setosa\nbob,2,versicolor\n"),
            schema(1, None, &iris),
        )
        .unwrap();
        assert_eq!(d.label_column.as_deref(), Some("species"));
        assert_eq!(d.labels, Some(Labels::Classes(vec![0, 1])));
        assert_eq!(d.ignored_columns, ["name"]);
        assert_eq!(
            d.notes,
            [
                "no column is named like a label; took `species`, whose values are the model's classes"
            ]
        );
    }
}
