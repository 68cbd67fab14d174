//! Files compiled into the binary.

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/DejaVuSans-LICENSE.txt`): the font of
/// exported charts, and the window's fallback for symbols and scripts egui's fonts lack. No
/// system font is needed anywhere.
pub const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
