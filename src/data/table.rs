//! A CSV file as text cells under a header, with the line each row started on.

use std::io::Read;
use std::path::Path;

use super::DataError;

/// A CSV file's header and rows of trimmed text cells, all rows as wide as the header. The cells'
/// text is held in one buffer (4 bytes of bookkeeping per cell), so memory stays near the file's
/// own size.
#[derive(Clone, Debug)]
pub struct Table {
    /// The file name, for messages.
    pub source: String,
    pub header: Vec<String>,
    /// Every cell's text, row after row.
    text: String,
    /// Where each cell ends in `text`, row-major (`header.len()` per row).
    ends: Vec<u32>,
    /// The 1-based line each row starts on (quoted newlines make it differ from row + 2).
    pub lines: Vec<u64>,
}

/// How much of a CSV Loupe holds in memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest file read, in bytes.
    pub bytes: u64,
    /// The most cells (rows × columns).
    pub cells: usize,
}

/// The largest CSV read, in bytes: Loupe holds the whole table (and its numbers) in memory.
pub const MAX_FILE_BYTES: u64 = 2_000_000_000;
/// The most cells a CSV may have: 1 GB of cell ends, and at most 1 GB of numbers once matched.
pub const MAX_CELLS: usize = 250_000_000;

impl Limits {
    pub const DEFAULT: Limits = Limits {
        bytes: MAX_FILE_BYTES,
        cells: MAX_CELLS,
    };
}

/// What to do past a limit; named in every refusal.
pub(super) const WAY_OUT: &str =
    "explain a sample of the rows, or shard the work with `loupe explain --shard`";

impl Table {
    /// Reads a CSV file — or a Parquet file (`.parquet`, `.pq`), as the same text cells — from
    /// disk.
    pub fn from_path(path: &Path) -> Result<Table, DataError> {
        let limits = Limits::DEFAULT;
        if super::parquet::is_parquet(path) {
            return super::parquet::read(path, limits);
        }
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
                    "the file is {}; Loupe holds data in memory and reads files up to {} \
                     ({WAY_OUT})",
                    size(meta.len()),
                    size(limits.bytes)
                ),
            });
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Table::from_reader_limited(&name, std::io::BufReader::new(file), limits)
    }

    /// Reads CSV text from any reader; `source` names it in messages.
    pub fn from_reader(source: &str, reader: impl Read) -> Result<Table, DataError> {
        Self::from_reader_limited(source, reader, Limits::DEFAULT)
    }

    /// Reads CSV text from any reader, refusing it once it passes `limits`.
    pub fn from_reader_limited(
        source: &str,
        reader: impl Read,
        limits: Limits,
    ) -> Result<Table, DataError> {
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

        let max_text = limits.bytes.min(u32::MAX as u64) as usize;
        let mut text = String::new();
        let mut ends: Vec<u32> = Vec::new();
        let mut lines = Vec::new();
        let mut record = csv::ByteRecord::new();
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(invalid(csv_reason(&e))),
            }
            let line = record.position().map_or(0, |p| p.line());
            let row = lines.len();
            if ends.len() + record.len() > limits.cells
                || text.len() + record.as_slice().len() > max_text
            {
                return Err(invalid(format!(
                    "at line {line}, the file holds more than {} cells or {} of text; Loupe \
                     holds data in memory ({WAY_OUT})",
                    crate::thousands(limits.cells as u64),
                    size(max_text as u64)
                )));
            }
            for (c, cell) in record.iter().enumerate() {
                let cell = std::str::from_utf8(cell).map_err(|_| DataError::Cell {
                    file: source.to_string(),
                    row,
                    line,
                    column: header[c].clone(),
                    reason: "the cell is not UTF-8 text".into(),
                })?;
                text.push_str(cell);
                ends.push(text.len() as u32);
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Err(invalid("the file has a header but no rows".into()));
        }
        text.shrink_to_fit();
        ends.shrink_to_fit();
        Ok(Table {
            source: source.to_string(),
            header,
            text,
            ends,
            lines,
        })
    }

    /// A table of `header` and the cells in `text`, cell `i` ending at `ends[i]`, row `r`
    /// called line `lines[r]` in messages.
    pub(super) fn from_parts(
        source: &str,
        header: Vec<String>,
        text: String,
        ends: Vec<u32>,
        lines: Vec<u64>,
    ) -> Result<Table, DataError> {
        let invalid = |reason: String| DataError::Invalid {
            file: source.to_string(),
            reason,
        };
        if header.is_empty() {
            return Err(invalid("the file has no columns".into()));
        }
        if let Some(dup) = first_duplicate(&header) {
            return Err(invalid(format!("the file names column `{dup}` twice")));
        }
        if lines.is_empty() {
            return Err(invalid("the file has no rows".into()));
        }
        debug_assert_eq!(ends.len(), header.len() * lines.len());
        Ok(Table {
            source: source.to_string(),
            header,
            text,
            ends,
            lines,
        })
    }

    /// Number of rows (the header not counted).
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// The text of the cell at `row`, `column`.
    pub fn cell(&self, row: usize, column: usize) -> &str {
        let k = row * self.header.len() + column;
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
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

/// `n` bytes for people: "3.2 GB", "512 MB", "80 kB".
pub(super) fn size(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1} GB", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.0} MB", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.0} kB", n as f64 / 1e3),
        n => format!("{n} bytes"),
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
        assert_eq!(t.cell(0, 0), "x\ny");
        assert_eq!(t.cell(1, 1), "4");
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

    #[test]
    fn cells_are_found_in_the_shared_buffer() {
        let t = read("a,b,c\n1, two ,\n,,6\n").unwrap();
        assert_eq!(t.n_rows(), 2);
        let cells: Vec<&str> = (0..2)
            .flat_map(|r| (0..3).map(move |c| (r, c)))
            .map(|(r, c)| t.cell(r, c))
            .collect();
        assert_eq!(cells, ["1", "two", "", "", "", "6"]);
    }

    #[test]
    fn tables_past_the_limits_are_refused_with_the_line() {
        let text = "a,b\n1,2\n3,4\n5,6\n";
        let at = |limits| {
            Table::from_reader_limited("t.csv", text.as_bytes(), limits)
                .map(|t| t.n_rows())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            at(Limits {
                bytes: 100,
                cells: 6
            }),
            Ok(3)
        );
        let err = at(Limits {
            bytes: 100,
            cells: 5,
        })
        .unwrap_err();
        assert!(
            err.starts_with("t.csv: at line 4, the file holds more than 5 cells or 100 bytes"),
            "{err}"
        );
        assert!(err.contains("--shard"), "{err}");
        let err = at(Limits {
            bytes: 5,
            cells: 100,
        })
        .unwrap_err();
        assert!(err.starts_with("t.csv: at line 4, "), "{err}");
        assert_eq!(size(2_000_000_000), "2.0 GB");
    }
}
