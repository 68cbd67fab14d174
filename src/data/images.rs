//! Image datasets: a folder of images in class sub-folders (the ImageFolder convention, with an
//! optional `train/` and `test/` level above the classes), or a CSV of `path,label[,split]`.
//! PNG and JPEG are read with the `image` crate and turned into the model's input tensor as the
//! card says: size, channels, scaling to 0..1, mean/std, NCHW or NHWC.
//!
//! One unreadable image is skipped and listed, not fatal; an image whose header claims more
//! than [`MAX_PIXELS`] pixels is refused before it is decoded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::{ImageReader, Limits, RgbImage};
use ndarray::Array2;

pub use super::resize::{Filter, Resize, fit_image};
use super::{DataError, Dataset, Labels, Split, Table};

/// The largest image decoded, in pixels (a decompression bomb claims far more).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The most input values (images × values per image) held in memory: 2 GB of f32.
pub const MAX_VALUES: u64 = 500_000_000;
/// Extensions read as images.
pub const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// How images become the model's input tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageShape {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    /// Channels first (NCHW) or last (NHWC).
    pub channels_first: bool,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// How an image of another size reaches `width` × `height`.
    pub resize: Resize,
    pub filter: Filter,
}

impl ImageShape {
    /// The shape of a model's input rows (`row_shape`, C×H×W, or H×W×C when `layout` is
    /// `NHWC`) normalised by `mean` and `std` (one value, or one per channel).
    pub fn from_layout(
        layout: Option<&str>,
        mean: Option<&[f32]>,
        std: Option<&[f32]>,
        row_shape: &[usize],
    ) -> Result<ImageShape, String> {
        let nhwc = layout.is_some_and(|l| l.eq_ignore_ascii_case("NHWC"));
        let (c, h, w) = match (row_shape, nhwc) {
            ([c, h, w], false) => (*c, *h, *w),
            ([h, w, c], true) => (*c, *h, *w),
            _ => {
                return Err(format!(
                    "the model's input per row is {row_shape:?}, not an image (C×H×W or H×W×C)"
                ));
            }
        };
        if c != 1 && c != 3 {
            return Err(format!(
                "the model takes {c} channels; Loupe reads 1 (grey) or 3 (RGB)"
            ));
        }
        let per_channel =
            |v: Option<&[f32]>, default: f32, what: &str| -> Result<Vec<f32>, String> {
                match v {
                    None => Ok(vec![default; c]),
                    Some(v) if v.len() == 1 => Ok(vec![v[0]; c]),
                    Some(v) if v.len() == c => Ok(v.to_vec()),
                    Some(v) => Err(format!(
                        "the card's image {what} has {} values for {c} channels",
                        v.len()
                    )),
                }
            };
        let std = per_channel(std, 1.0, "std")?;
        if std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return Err("the card's image std must be finite and non-zero".into());
        }
        Ok(ImageShape {
            width: w,
            height: h,
            channels: c,
            channels_first: !nhwc,
            mean: per_channel(mean, 0.0, "mean")?,
            std,
            resize: Resize::default(),
            filter: Filter::default(),
        })
    }

    /// The same shape, photos of other sizes brought to it by `resize` with `filter`.
    pub fn resized(self, resize: Resize, filter: Filter) -> ImageShape {
        ImageShape {
            resize,
            filter,
            ..self
        }
    }

    /// Values per image.
    pub fn len(&self) -> usize {
        self.width * self.height * self.channels
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index of pixel (y, x), channel `c` in the flat tensor.
    #[inline]
    pub fn index(&self, y: usize, x: usize, c: usize) -> usize {
        if self.channels_first {
            (c * self.height + y) * self.width + x
        } else {
            (y * self.width + x) * self.channels + c
        }
    }

    /// The model's input for an RGB image already at the model's size.
    pub fn tensor(&self, image: &RgbImage) -> Vec<f32> {
        let mut out = vec![0f32; self.len()];
        for (x, y, p) in image.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            if self.channels == 1 {
                // ITU-R BT.601 luma, as image's grey conversion.
                let l = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
                out[self.index(y, x, 0)] = (l / 255.0 - self.mean[0]) / self.std[0];
            } else {
                for c in 0..3 {
                    out[self.index(y, x, c)] = (p[c] as f32 / 255.0 - self.mean[c]) / self.std[c];
                }
            }
        }
        out
    }
}

/// The images of a dataset: where each came from, and each at the model's size for display.
#[derive(Clone, Debug)]
pub struct ImageSet {
    pub shape: ImageShape,
    pub paths: Vec<PathBuf>,
    pub images: Vec<Arc<RgbImage>>,
    /// Images that could not be read, with the reason (skipped, not fatal).
    pub skipped: Vec<String>,
}

/// Reads one image, refusing huge ones by their header, at the model's size as RGB.
pub fn read_image(path: &Path, shape: &ImageShape) -> Result<RgbImage, String> {
    decode_image(
        || {
            let file = std::fs::File::open(path)?;
            Ok(ImageReader::new(std::io::BufReader::new(file)))
        },
        shape,
    )
}

/// Decodes an image held in memory (as [`read_image`] does a file).
pub fn read_image_bytes(bytes: &[u8], shape: &ImageShape) -> Result<RgbImage, String> {
    decode_image(|| Ok(ImageReader::new(std::io::Cursor::new(bytes))), shape)
}

/// Reads the header from one reader, refuses huge or empty images, then decodes from a second
/// reader under `image`'s allocation limits and resizes to `width`×`height`.
fn decode_image<R: std::io::BufRead + std::io::Seek>(
    open: impl Fn() -> std::io::Result<ImageReader<R>>,
    shape: &ImageShape,
) -> Result<RgbImage, String> {
    let guessed = || -> Result<ImageReader<R>, String> {
        open()
            .map_err(|e| e.to_string())?
            .with_guessed_format()
            .map_err(|e| e.to_string())
    };
    let (w, h) = guessed()?
        .into_dimensions()
        .map_err(|e| format!("not a readable image: {e}"))?;
    if w == 0 || h == 0 {
        return Err("the image has no pixels".into());
    }
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(format!(
            "the image claims {w}×{h} pixels, more than Loupe's limit of {}",
            crate::thousands(MAX_PIXELS)
        ));
    }
    let mut reader = guessed()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| format!("not a readable image: {e}"))?;
    Ok(fit_image(
        &image.to_rgb8(),
        shape.width as u32,
        shape.height as u32,
        shape.resize,
        shape.filter,
    ))
}

/// One image to load: its path, label text and split.
struct Entry {
    path: PathBuf,
    label: Option<String>,
    split: Option<Split>,
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn sorted_dir(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let read = std::fs::read_dir(dir).map_err(|e| DataError::Read {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut entries: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    Ok(entries)
}

/// The images of a class-per-folder tree, with `train`/`test` above the classes when present.
fn folder_entries(dir: &Path) -> Result<Vec<Entry>, DataError> {
    let mut out = Vec::new();
    let subdirs: Vec<PathBuf> = sorted_dir(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    let split_of = |name: &str| match name.to_ascii_lowercase().as_str() {
        "train" | "training" => Some(Split::Train),
        "test" | "testing" | "val" | "valid" | "validation" => Some(Split::Test),
        _ => None,
    };
    let names = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let splits = !subdirs.is_empty() && subdirs.iter().all(|d| split_of(&names(d)).is_some());
    let groups: Vec<(Option<Split>, PathBuf)> = if splits {
        subdirs
            .iter()
            .map(|d| (split_of(&names(d)), d.clone()))
            .collect()
    } else {
        vec![(None, dir.to_path_buf())]
    };
    for (split, group) in groups {
        for class_dir in sorted_dir(&group)?.into_iter().filter(|p| p.is_dir()) {
            let label = names(&class_dir);
            for file in sorted_dir(&class_dir)?.into_iter().filter(|p| is_image(p)) {
                out.push(Entry {
                    path: file,
                    label: Some(label.clone()),
                    split,
                });
            }
        }
    }
    if out.is_empty() {
        return Err(DataError::Invalid {
            file: dir.display().to_string(),
            reason: "no PNG or JPEG images in class sub-folders (folder/<class>/*.png)".into(),
        });
    }
    Ok(out)
}

/// The images a `path,label[,split]` CSV lists (paths relative to the CSV).
fn csv_entries(table: &Table, base: &Path) -> Result<Vec<Entry>, DataError> {
    let invalid = |reason: String| DataError::Invalid {
        file: table.source.clone(),
        reason,
    };
    let path_col = table
        .column("path")
        .or_else(|| table.column("image"))
        .or_else(|| table.column("file"))
        .ok_or_else(|| invalid("no `path` column naming the images".into()))?;
    let label_col = ["label", "class", "target", "y", "diagnosis"]
        .iter()
        .find_map(|n| table.column(n));
    let split_col = table.column("split");
    Ok((0..table.n_rows())
        .map(|r| {
            // Cells are trimmed as they are read.
            let cell = |c: usize| table.cell(r, c);
            Entry {
                path: base.join(cell(path_col)),
                label: label_col
                    .map(cell)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                split: split_col
                    .map(cell)
                    .map(|s| match s.to_ascii_lowercase().as_str() {
                        "train" | "training" => Split::Train,
                        "test" | "testing" | "val" | "valid" | "validation" => Split::Test,
                        _ => Split::Other,
                    }),
            }
        })
        .collect())
}

/// True when `path` is image data: a folder, or a CSV whose header has a `path` column.
pub fn is_image_data(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.lines().next().map(|h| h.to_ascii_lowercase()))
        .is_some_and(|h| {
            h.split(',')
                .any(|c| matches!(c.trim(), "path" | "image" | "file"))
        })
}

/// Loads the images at `path` (a folder or a CSV) as the model's dataset.
pub fn load(path: &Path, shape: &ImageShape, class_names: &[String]) -> Result<Dataset, DataError> {
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let entries = if path.is_dir() {
        folder_entries(path)?
    } else {
        let table = Table::from_path(path)?;
        csv_entries(&table, path.parent().unwrap_or(Path::new(".")))?
    };
    // Every image is held in memory as the model's input (f32) and for display.
    let values = entries.len() as u64 * shape.len() as u64;
    if values > MAX_VALUES {
        return Err(DataError::Invalid {
            file: source,
            reason: format!(
                "{} images of {} values each are more than Loupe holds in memory ({} values); \
                 list a sample of them in a CSV of path,label",
                crate::thousands(entries.len() as u64),
                crate::thousands(shape.len() as u64),
                crate::thousands(MAX_VALUES)
            ),
        });
    }
    let loaded: Vec<Result<RgbImage, String>> = {
        use rayon::prelude::*;
        entries
            .par_iter()
            .map(|e| read_image(&e.path, shape))
            .collect()
    };
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for (entry, image) in entries.into_iter().zip(loaded) {
        match image {
            Ok(image) => kept.push((entry, image)),
            Err(reason) => skipped.push(format!("{}: {reason}", entry.path.display())),
        }
    }
    if kept.is_empty() {
        return Err(DataError::Invalid {
            file: source,
            reason: match skipped.first() {
                Some(first) => format!("no image could be read ({} tried; {first})", skipped.len()),
                None => "no images".into(),
            },
        });
    }
    let n = kept.len();
    let mut x = Array2::<f32>::zeros((n, shape.len()));
    for (r, (_, image)) in kept.iter().enumerate() {
        x.row_mut(r)
            .assign(&ndarray::ArrayView1::from(&shape.tensor(image)));
    }
    let labels = if kept.iter().all(|(e, _)| e.label.is_some()) && !class_names.is_empty() {
        let classes = kept
            .iter()
            .map(|(e, _)| {
                let l = e.label.as_deref().unwrap_or_default();
                class_names
                    .iter()
                    .position(|c| c == l)
                    .or_else(|| l.parse::<usize>().ok().filter(|&i| i < class_names.len()))
                    .ok_or_else(|| DataError::Invalid {
                        file: e.path.display().to_string(),
                        reason: format!(
                            "label `{l}` is not a class of the model ({})",
                            class_names.join(", ")
                        ),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Some(Labels::Classes(classes))
    } else {
        None
    };
    let split = kept.iter().all(|(e, _)| e.split.is_some()).then(|| {
        kept.iter()
            .map(|(e, _)| e.split.unwrap_or(Split::Other))
            .collect()
    });
    let feature_names = (0..shape.len()).map(|i| format!("pixel {i}")).collect();
    let (paths, images): (Vec<PathBuf>, Vec<Arc<RgbImage>>) = kept
        .into_iter()
        .map(|(e, image)| (e.path, Arc::new(image)))
        .unzip();
    Ok(Dataset {
        source,
        feature_names,
        x,
        label_column: labels.as_ref().map(|_| "label".to_string()),
        labels,
        split,
        ignored_columns: Vec::new(),
        images: Some(Arc::new(ImageSet {
            shape: shape.clone(),
            paths,
            images,
            skipped,
        })),
        categories: Vec::new(),
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_index_pixels_and_channels() {
        let s = ImageShape::from_layout(Some("NHWC"), Some(&[0.5]), None, &[4, 5, 3]).unwrap();
        assert_eq!(
            (s.height, s.width, s.channels, s.channels_first),
            (4, 5, 3, false)
        );
        assert_eq!(s.index(1, 2, 1), (5 + 2) * 3 + 1);
        let s = ImageShape::from_layout(None, None, None, &[3, 4, 5]).unwrap();
        assert_eq!(s.index(1, 2, 1), (4 + 1) * 5 + 2);
        assert!(ImageShape::from_layout(None, None, None, &[30]).is_err());
        let mut img = RgbImage::new(5, 4);
        img.put_pixel(2, 1, image::Rgb([255, 0, 51]));
        let t = s.tensor(&img);
        assert_eq!(t[s.index(1, 2, 0)], 1.0);
        assert!((t[s.index(1, 2, 2)] - 0.2).abs() < 1e-6);
    }

    #[test]
    fn a_header_claiming_a_huge_image_is_refused_before_decoding() {
        let dir = tempfile::tempdir().unwrap();
        // A PNG whose IHDR claims 100,000 × 100,000 pixels, with no data behind it.
        let mut png = Vec::new();
        png.extend_from_slice(&[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n']);
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        png.extend_from_slice(&(ihdr.len() as u32).to_be_bytes());
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&ihdr);
        let mut crc_input = b"IHDR".to_vec();
        crc_input.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        // An empty IDAT and the end: the header is all a reader needs for the size.
        for kind in [b"IDAT", b"IEND"] {
            png.extend_from_slice(&0u32.to_be_bytes());
            png.extend_from_slice(kind);
            png.extend_from_slice(&crc32(kind).to_be_bytes());
        }
        let path = dir.path().join("bomb.png");
        std::fs::write(&path, png).unwrap();
        let shape = ImageShape::from_layout(None, None, None, &[3, 8, 8]).unwrap();
        let err = read_image(&path, &shape).unwrap_err();
        assert!(err.contains("100000×100000"), "{err}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn an_image_set_too_large_for_memory_is_refused_before_decoding() {
        let dir = std::env::temp_dir().join(format!("loupe-many-images-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 11 images of 4000×4000×3 values: 528 million, past the limit. The files need not
        // exist: the count is checked before any is read.
        let list: String = (0..11).map(|i| format!("img{i}.png,a\n")).collect();
        std::fs::write(dir.join("list.csv"), format!("path,label\n{list}")).unwrap();
        let shape = ImageShape {
            width: 4000,
            height: 4000,
            channels: 3,
            channels_first: true,
            mean: vec![0.0; 3],
            std: vec![1.0; 3],
            resize: Default::default(),
            filter: Default::default(),
        };
        let err = load(&dir.join("list.csv"), &shape, &["a".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("11 images of 48,000,000 values each are more than Loupe holds"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
