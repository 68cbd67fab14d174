//! Parquet files read as the same text cells as a CSV, so one set of matching rules serves
//! both: numbers written as the shortest text that reads back to the same value (a float32
//! column's cells parse to the very floats its CSV twin gives), text (dictionary-encoded or
//! not) as itself, booleans as `true`/`false`, nulls as blank cells (missing values). A
//! cell's row stands where a CSV gives its line.

use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::DataError;
use super::table::{Limits, Table, WAY_OUT, size};

/// True when `path` names a Parquet file (by its extension).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// Reads the Parquet file at `path`, refusing it past `limits` before reading its rows.
pub(super) fn read(path: &Path, limits: Limits) -> Result<Table, DataError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let invalid = |reason: String| DataError::Invalid {
        file: name.clone(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| DataError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if let Ok(meta) = file.metadata()
        && meta.len() > limits.bytes
    {
        return Err(DataError::Read {
            path: path.display().to_string(),
            reason: format!(
                "the file is {}; Loupe holds data in memory and reads files up to {} ({WAY_OUT})",
                size(meta.len()),
                size(limits.bytes)
            ),
        });
    }
    let reader = SerializedFileReader::new(file)
        .map_err(|e| invalid(format!("not a readable Parquet file: {e}")))?;
    let meta = reader.metadata().file_metadata();
    let schema = meta.schema_descr();
    let top = schema.root_schema().get_fields();
    if let Some(nested) = top.iter().find(|f| f.is_group()) {
        return Err(invalid(format!(
            "column `{}` is nested (a list, map or struct); Loupe reads flat tables",
            nested.name()
        )));
    }
    let header: Vec<String> = top.iter().map(|f| f.name().to_string()).collect();
    let rows = meta.num_rows().max(0) as u64;
    let cells = rows.saturating_mul(header.len() as u64);
    if cells > limits.cells as u64 {
        return Err(invalid(format!(
            "the file holds {} cells; Loupe holds data in memory, up to {} ({WAY_OUT})",
            crate::thousands(cells),
            crate::thousands(limits.cells as u64)
        )));
    }
    let max_text = limits.bytes.min(u32::MAX as u64) as usize;
    let mut text = String::new();
    let mut ends = Vec::with_capacity(cells as usize);
    let mut lines = Vec::with_capacity(rows as usize);
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| invalid(format!("not a readable Parquet file: {e}")))?;
    for (r, row) in rows.enumerate() {
        let row = row.map_err(|e| invalid(format!("row {r}: {e}")))?;
        for (_, field) in row.get_column_iter() {
            push_cell(&mut text, field);
            if text.len() > max_text {
                return Err(invalid(format!(
                    "at row {r}, the file holds more than {} of text; Loupe holds data in \
                     memory ({WAY_OUT})",
                    size(max_text as u64)
                )));
            }
            ends.push(text.len() as u32);
        }
        lines.push(r as u64 + 1);
    }
    text.shrink_to_fit();
    Table::from_parts(&name, header, text, ends, lines)
}

/// A field's text, as its CSV twin writes it.
fn push_cell(text: &mut String, field: &Field) {
    use std::fmt::Write;
    let _ = match field {
        Field::Null => Ok(()),
        Field::Bool(b) => write!(text, "{b}"),
        Field::Str(s) => {
            text.push_str(s.trim());
            Ok(())
        }
        Field::Float(v) => write!(text, "{v}"),
        Field::Double(v) => write!(text, "{v}"),
        Field::Byte(v) => write!(text, "{v}"),
        Field::Short(v) => write!(text, "{v}"),
        Field::Int(v) => write!(text, "{v}"),
        Field::Long(v) => write!(text, "{v}"),
        Field::UByte(v) => write!(text, "{v}"),
        Field::UShort(v) => write!(text, "{v}"),
        Field::UInt(v) => write!(text, "{v}"),
        Field::ULong(v) => write!(text, "{v}"),
        Field::Float16(v) => write!(text, "{}", v.to_f32()),
        other => write!(text, "{other}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sample_models")
            .join(name)
    }

    #[test]
    fn the_penguins_parquet_reads_as_its_csv_does() {
        let parquet = Table::from_path(&sample("penguins.parquet")).unwrap();
        let csv = Table::from_path(&sample("penguins.csv")).unwrap();
        assert_eq!(parquet.header, csv.header);
        assert_eq!(parquet.n_rows(), csv.n_rows());
        for r in 0..csv.n_rows() {
            for c in 0..csv.header.len() {
                let (p, t) = (parquet.cell(r, c), csv.cell(r, c));
                match (p.parse::<f64>(), t.parse::<f64>()) {
                    // Numbers: the same float32, however the text is written.
                    (Ok(a), Ok(b)) => assert_eq!(a as f32, b as f32, "row {r} column {c}"),
                    _ => assert_eq!(p, t, "row {r} column {c}"),
                }
            }
        }
    }

    #[test]
    fn a_file_that_is_not_parquet_is_refused_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.parquet");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let err = Table::from_path(&path).unwrap_err().to_string();
        assert!(
            err.starts_with("fake.parquet: not a readable Parquet file"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
