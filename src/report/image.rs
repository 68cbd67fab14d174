//! The report on one image, for a clinician: the image with its saliency map and the map's
//! colour bar, the prediction and how sure the model is, how often it was right at that
//! confidence, whether the map passed its sanity checks (faithfulness against random pixel
//! orders, a model with a random last layer), and the caveats — as HTML, PNG or PDF
//! ([`super::image_page`]).

use super::{calibration_sentence, today, words};
use crate::explain::Progress;
use crate::explain::image::ImageSettings;
use crate::plot::overlay::{MapScale, OverlayStyle, overlay_with_legend, png_bytes};
use crate::session::image::ImageRequest;
use crate::session::policy::Purpose;
use crate::session::{Session, SessionError};

/// What the page says about an image map, beyond the map itself.
pub const IMAGE_CAVEAT: &str = "The coloured regions show where the model looked, not what is \
there: a region can matter to the model for reasons unrelated to the condition (a marker, a \
ruler, the lighting). The map explains this model's output; it is not a diagnosis.";

/// Everything on the page of an image.
#[derive(Clone, Debug)]
pub struct ImageReport {
    pub row: usize,
    /// What a row is, capitalised (`Patient`, `Case`).
    pub subject: String,
    pub model_name: String,
    pub model_description: Option<String>,
    pub data_name: String,
    pub date: String,
    /// The class the map explains (the card's positive class, else the predicted one).
    pub explained: String,
    pub predicted: String,
    pub probability: f64,
    pub recorded: Option<String>,
    pub calibration: Option<String>,
    /// The image with the map over it and its colour bar, PNG.
    pub picture_png: Vec<u8>,
    /// The colour bar in words.
    pub scale: String,
    /// Whether the map is faithful to the model, in words.
    pub faithfulness: String,
    /// Whether the map depends on what the model learned, in words.
    pub sanity: String,
    /// The method and its settings.
    pub method: String,
    /// The case's identifier from the data's id column, when there is one.
    pub case_id: Option<String>,
}

impl ImageReport {
    /// A heading for the page: `Case 409 · lesions.csv`.
    pub fn title(&self) -> String {
        match &self.case_id {
            Some(id) => format!(
                "{} {id} (row {}) · {}",
                self.subject, self.row, self.data_name
            ),
            None => format!("{} {} · {}", self.subject, self.row, self.data_name),
        }
    }

    /// Builds the page on image `row`: a map by occlusion with a window an eighth of the
    /// image, its faithfulness and the randomisation check.
    pub fn build(
        session: &Session,
        row: usize,
        progress: &dyn Progress,
    ) -> Result<ImageReport, SessionError> {
        let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
            return Err(SessionError::NoData("open images to report on one".into()));
        };
        let Some(images) = &data.images else {
            return Err(SessionError::NoData(format!(
                "{} is not image data",
                data.source
            )));
        };
        if row >= data.len() {
            return Err(SessionError::NoData(format!(
                "row {row} is out of range: the data has {} images",
                data.len()
            )));
        }
        let class_names = session.model.task().class_names();
        let target = session
            .default_class(Purpose::Report, Some(row))
            .unwrap_or(0);
        let side = images.shape.width.min(images.shape.height);
        let window = (side / 8).max(2) as f64;
        let settings = ImageSettings::default()
            .with_param("window", window)
            .with_param("stride", (window / 2.0).max(1.0));
        let request = ImageRequest {
            settings: settings.clone(),
            faithfulness: true,
            sanity: true,
            cascade: false,
        };
        let e = session
            .explain_images(&[row], &request, &|_| vec![target], progress)?
            .pop()
            .ok_or_else(|| SessionError::NoData(format!("no map of image {row}")))?;
        let palette = crate::session::map_palette(&session.model).unwrap_or_default();
        let style = OverlayStyle {
            palette,
            ..OverlayStyle::default()
        };
        let picture = overlay_with_legend(&images.images[row], &e.map, style);
        let picture_png = png_bytes(&picture).map_err(|err| SessionError::Other(err.into()))?;
        let faithfulness = match &e.faithfulness {
            Some(f) if f.deletion_beats_random() && f.insertion_beats_random() => {
                "Hiding the coloured regions first lowers the model's estimate faster than hiding \
                 random pixels, and showing them first raises it faster: the map points at what \
                 the model uses."
                    .to_string()
            }
            Some(_) => "Hiding or showing the coloured regions first moves the model's estimate \
                        little more than random pixels do: read this map with caution."
                .to_string(),
            None => String::new(),
        };
        let sanity = match e.randomized {
            Some(r) if r < 0.5 => format!(
                "With its last layer made random, the model gives a different map (correlation \
                 {r:.2}): the map depends on what the model learned."
            ),
            Some(r) => format!(
                "With its last layer made random, the model gives a similar map (correlation \
                 {r:.2}): the map may show the image more than the model's reasoning."
            ),
            None => String::new(),
        };
        let predicted_class = predictions.predicted.get(row).copied().unwrap_or(0);
        let card = session.model.card();
        Ok(ImageReport {
            row,
            case_id: session
                .case_id(row)
                .filter(|id| !id.is_empty())
                .map(str::to_string),
            subject: words::subject(card),
            model_name: session.model.name().to_string(),
            model_description: card.description.clone(),
            data_name: data.source.clone(),
            date: today(),
            explained: class_names.get(target).cloned().unwrap_or_default(),
            predicted: class_names
                .get(predicted_class)
                .cloned()
                .unwrap_or_default(),
            probability: predictions.outputs[[row, predicted_class]] as f64,
            recorded: data
                .classes()
                .and_then(|c| class_names.get(c[row]).cloned()),
            calibration: calibration_sentence(data, predictions, row),
            picture_png,
            scale: MapScale::of(&e.map).describe(palette),
            faithfulness,
            sanity,
            method: format!(
                "occlusion, a {window:.0}×{window:.0}-pixel window moved {:.0} pixels at a time",
                (window / 2.0).max(1.0)
            ),
        })
    }
}
