//! A CSV file as text cells under a header, with the line each row started on.

use std::io::Read;
use std::path::Path;

use super::DataError;

/// A CSV file's header and rows of trimmed text cells, all rows as wide as the header.
#[derive(Clone, Debug)]
pub struct Table {
    /// The file name, for messages.
    pub source: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The 1-based line each row starts on (quoted newlines make it differ from row + 2).
    pub lines: Vec<u64>,
}

/// The largest CSV read, in bytes: Loupe holds the whole table (and its numbers) in memory.
pub const MAX_FILE_BYTES: u64 = 4_000_000_000;

impl Table {
    /// Reads a CSV file from disk.
    pub fn from_path(path: &Path) -> Result<Table, DataError> {
        let file = std::fs::File::open(path).map_err(|e| DataError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if let Ok(meta) = file.metadata()
            && meta.len() > MAX_FILE_BYTES
        {
            return Err(DataError::Read {
                path: path.display().to_string(),
                reason: format!(
                    "the file is {:.1} GB; Loupe holds data in memory and reads files up to {} GB \
                     (explain a sample of the rows, or shard the work with `loupe explain --shard`)",
                    meta.len() as f64 / 1e9,
                    MAX_FILE_BYTES / 1_000_000_000
                ),
            });
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Table::from_reader(&name, file)
    }

    /// Reads CSV text from any reader; `source` names it in messages.
    pub fn from_reader(source: &str, reader: impl Read) -> Result<Table, DataError> {
        let invalid = |reason: String| DataError::Invalid {
            file: source.to_string(),
            reason,
        };
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let header_record = csv
            .byte_headers()
            .map_err(|e| invalid(csv_reason(&e)))?
            .clone();
        if header_record.is_empty() || header_record.iter().all(|h| h.is_empty()) {
            return Err(invalid("the file is empty".into()));
        }
        let header = header_record
            .iter()
            .enumerate()
            .map(|(i, h)| {
                String::from_utf8(h.to_vec()).map_err(|_| {
                    invalid(format!("the header's column {} is not UTF-8 text", i + 1))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(dup) = first_duplicate(&header) {
            return Err(invalid(format!("the header names column `{dup}` twice")));
        }

        let mut rows = Vec::new();
        let mut lines = Vec::new();
        let mut record = csv::ByteRecord::new();
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(invalid(csv_reason(&e))),
            }
            let line = record.position().map_or(0, |p| p.line());
            let row = rows.len();
            let cells = record
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    String::from_utf8(cell.to_vec()).map_err(|_| DataError::Cell {
                        file: source.to_string(),
                        row,
                        line,
                        column: header[c].clone(),
                        reason: "the cell is not UTF-8 text".into(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            rows.push(cells);
            lines.push(line);
        }
        if rows.is_empty() {
            return Err(invalid("the file has a header but no rows".into()));
        }
        Ok(Table {
            source: source.to_string(),
            header,
            rows,
            lines,
        })
    }

    /// Index of the column named `name` (exact match first, then ignoring case).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name).or_else(|| {
            self.header
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
        })
    }
}

fn first_duplicate(names: &[String]) -> Option<&str> {
    let mut seen = std::collections::HashSet::new();
    names
        .iter()
        .find(|n| !seen.insert(n.as_str()))
        .map(|n| n.as_str())
}

/// The csv crate's message, reworded where it is cryptic.
fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {} has {len} fields but the header has {expected_len}",
            pos.as_ref().map_or(0, |p| p.line())
        ),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Table, DataError> {
        Table::from_reader("t.csv", text.as_bytes())
    }

    #[test]
    fn ragged_row_names_its_line() {
        let err = read("a,b\n1,2\n3\n").unwrap_err().to_string();
        assert_eq!(err, "t.csv: line 3 has 1 fields but the header has 2");
    }

    #[test]
    fn quoted_newline_keeps_line_numbers_true() {
        let t = read("a,b\n\"x\ny\",2\n3,4\n").unwrap();
        assert_eq!(t.rows[0][0], "x\ny");
        assert_eq!(t.lines, vec![2, 4]);
    }

    #[test]
    fn empty_and_header_only_files_are_refused() {
        assert_eq!(
            read("").unwrap_err().to_string(),
            "t.csv: the file is empty"
        );
        assert_eq!(
            read("a,b\n").unwrap_err().to_string(),
            "t.csv: the file has a header but no rows"
        );
    }

    #[test]
    fn non_utf8_cell_is_located() {
        let err = Table::from_reader("t.csv", &b"a,b\n1,\xff\n"[..])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "t.csv: row 0 (line 2), column `b`: the cell is not UTF-8 text"
        );
    }

    #[test]
    fn duplicate_header_is_refused() {
        assert!(
            read("a,a\n1,2\n")
                .unwrap_err()
                .to_string()
                .contains("`a` twice")
        );
    }
}
