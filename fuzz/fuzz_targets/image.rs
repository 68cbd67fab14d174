//! The image loader: any bytes → an RGB image at the model's size (or a one-line refusal), then
//! the model's input tensor in both layouts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loupe::data::ImageShape;
use loupe::data::images::read_image_bytes;

fuzz_target!(|data: &[u8]| {
    loupe_fuzz::guard_aware_panics();
    let image = match read_image_bytes(data, 12, 9) {
        Ok(image) => image,
        Err(_) => return loupe_fuzz::note("refused"),
    };
    loupe_fuzz::note("decoded");
    assert_eq!(image.dimensions(), (12, 9));
    for (channels, channels_first) in [(1, true), (3, false), (3, true)] {
        let shape = ImageShape {
            width: 12,
            height: 9,
            channels,
            channels_first,
            mean: vec![0.5; channels],
            std: vec![0.25; channels],
        };
        let tensor = shape.tensor(&image);
        assert_eq!(tensor.len(), shape.len());
        assert!(tensor.iter().all(|v| v.is_finite()));
    }
});
