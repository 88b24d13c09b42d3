//! SVG and PNG output of a [`QrMatrix`]. Both keep the 4-module quiet zone the standard asks
//! for; scanners fail far more often without it than with a smaller code.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, GrayImage, ImageEncoder, Luma};

use crate::matrix::QrMatrix;
use crate::QrError;

/// Light modules around the code, in modules.
pub const QUIET_ZONE: usize = 4;
/// Module size for screens: a version-7 ticket code is then 424 px square.
pub const SCREEN_MODULE_PX: u32 = 8;
/// Larger modules only waste memory; 64 px modules make a 3,392 px version-7 image.
pub const MAX_MODULE_PX: u32 = 64;
/// A version-40 code at 64 px per module would be 140 MB of pixels.
const MAX_SIDE_PX: usize = 8192;

/// How big an SVG code says it is. The drawing itself is in modules and scales losslessly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SvgSize {
    /// No width or height: fills its container (web pages, the desktop app).
    Fluid,
    Px(u32),
    /// For print layouts.
    Mm(f32),
}

impl QrMatrix {
    /// The whole code as a standalone SVG document.
    pub fn to_svg(&self, size: SvgSize) -> String {
        let side = self.width() + 2 * QUIET_ZONE;
        let mut s: Vec<u8> = Vec::with_capacity(256 + self.width() * self.width() / 2 * 12);
        s.extend_from_slice(br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 "#);
        push_num(&mut s, side);
        s.push(b' ');
        push_num(&mut s, side);
        s.push(b'"');
        match size {
            SvgSize::Fluid => {}
            SvgSize::Px(px) => {
                s.extend_from_slice(format!(r#" width="{px}" height="{px}""#).as_bytes());
            }
            SvgSize::Mm(mm) => {
                s.extend_from_slice(format!(r#" width="{mm}mm" height="{mm}mm""#).as_bytes());
            }
        }
        s.extend_from_slice(br#" shape-rendering="crispEdges"><rect width=""#);
        push_num(&mut s, side);
        s.extend_from_slice(br#"" height=""#);
        push_num(&mut s, side);
        s.extend_from_slice(br##"" fill="#fff"/><path fill="#000" d=""##);
        self.write_path_data(&mut s, QUIET_ZONE);
        s.extend_from_slice(br#""/></svg>"#);
        // Only ASCII was written.
        String::from_utf8(s).unwrap_or_default()
    }

    /// SVG path data drawing the dark modules, one unit per module, offset by `origin`
    /// modules. Each horizontal run of dark modules is one rectangle, which keeps the path
    /// about a third of the size of one square per module.
    pub fn push_path_data(&self, out: &mut String, origin: usize) {
        let mut bytes = Vec::with_capacity(self.width() * self.width() / 2 * 12);
        self.write_path_data(&mut bytes, origin);
        out.push_str(&String::from_utf8_lossy(&bytes));
    }

    /// Bytes rather than `String`: pushing ASCII byte by byte into a `String` costs a UTF-8
    /// check per character, which was half the rendering time.
    fn write_path_data(&self, out: &mut Vec<u8>, origin: usize) {
        for y in 0..self.width() {
            let row = self.row(y);
            let mut x = 0;
            while x < row.len() {
                if !row[x] {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < row.len() && row[x] {
                    x += 1;
                }
                let len = x - start;
                out.push(b'M');
                push_num(out, start + origin);
                out.push(b' ');
                push_num(out, y + origin);
                out.push(b'h');
                push_num(out, len);
                out.extend_from_slice(b"v1h-");
                push_num(out, len);
                out.push(b'z');
            }
        }
    }

    /// Pixels for this code: black on white, `module_px` pixels per module, with the quiet
    /// zone.
    pub fn to_luma(&self, module_px: u32) -> Result<GrayImage, QrError> {
        if module_px == 0 || module_px > MAX_MODULE_PX {
            return Err(QrError::TooLarge);
        }
        let scale = module_px as usize;
        let side = (self.width() + 2 * QUIET_ZONE) * scale;
        if side > MAX_SIDE_PX {
            return Err(QrError::TooLarge);
        }
        let mut pixels = vec![255u8; side * side];
        let mut line = vec![255u8; side];
        for y in 0..self.width() {
            line.fill(255);
            for (x, dark) in self.row(y).iter().enumerate() {
                if *dark {
                    let from = (x + QUIET_ZONE) * scale;
                    line[from..from + scale].fill(0);
                }
            }
            let top = (y + QUIET_ZONE) * scale;
            for py in top..top + scale {
                pixels[py * side..(py + 1) * side].copy_from_slice(&line);
            }
        }
        GrayImage::from_raw(side as u32, side as u32, pixels).ok_or(QrError::TooLarge)
    }

    /// A PNG of this code; see [`QrMatrix::to_luma`].
    pub fn to_png(&self, module_px: u32) -> Result<Vec<u8>, QrError> {
        encode_png(&self.to_luma(module_px)?)
    }

    /// The largest module size at which the code, quiet zone included, fits `target_px`.
    pub fn module_px_to_fit(&self, target_px: u32) -> u32 {
        let side = (self.width() + 2 * QUIET_ZONE) as u32;
        (target_px / side).clamp(1, MAX_MODULE_PX)
    }

    /// Module size for a printed code at least `width_mm` wide at `dpi`.
    pub fn module_px_for_print(&self, width_mm: f32, dpi: u32) -> u32 {
        let side = (self.width() + 2 * QUIET_ZONE) as f32;
        let px = width_mm / 25.4 * dpi as f32;
        ((px / side).ceil() as u32).clamp(1, MAX_MODULE_PX)
    }
}

/// Grayscale PNG. Fast compression: these images are mostly flat runs that deflate well at
/// any level, and the `Up` filter turns repeated rows into zeros.
pub(crate) fn encode_png(img: &GrayImage) -> Result<Vec<u8>, QrError> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 16 + 1024);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Up)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::L8,
        )
        .map_err(|e| QrError::Image(e.to_string()))?;
    Ok(out)
}

pub(crate) fn fill_rect(img: &mut GrayImage, x: u32, y: u32, w: u32, h: u32, shade: u8) {
    for py in y..(y + h).min(img.height()) {
        for px in x..(x + w).min(img.width()) {
            img.put_pixel(px, py, Luma([shade]));
        }
    }
}

/// Decimal digits without going through `fmt`, which dominates SVG writing otherwise.
fn push_num(out: &mut Vec<u8>, mut n: usize) {
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    if n < 100 {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0usize, 7, 10, 45, 99, 100, 12345] {
            let mut s = Vec::new();
            push_num(&mut s, n);
            assert_eq!(s, n.to_string().as_bytes());
        }
    }

    #[test]
    fn svg_draws_exactly_the_dark_modules() {
        let m = QrMatrix::encode("HELLO WORLD").unwrap();
        let svg = m.to_svg(SvgSize::Px(300));
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r#"width="300" height="300""#));
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", m.width() + 8)));
        // Rebuild the matrix from the path and compare.
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut dark = vec![false; m.width() * m.width()];
        for rect in d.split('z').filter(|r| !r.is_empty()) {
            let rest = rect.strip_prefix('M').unwrap();
            let (xy, rest) = rest.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let len: usize = rest.split_once('v').unwrap().0.parse().unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            for i in 0..len {
                dark[(y - 4) * m.width() + x - 4 + i] = true;
            }
        }
        for y in 0..m.width() {
            for x in 0..m.width() {
                assert_eq!(dark[y * m.width() + x], m.is_dark(x, y), "({x}, {y})");
            }
        }
        assert!(m.to_svg(SvgSize::Mm(30.0)).contains(r#"width="30mm""#));
        assert!(!m.to_svg(SvgSize::Fluid).contains("width=\"3"));
    }

    #[test]
    fn png_pixels_follow_modules_and_sizes() {
        let m = QrMatrix::encode("HELLO WORLD").unwrap();
        let img = m.to_luma(3).unwrap();
        assert_eq!(img.width() as usize, (m.width() + 8) * 3);
        for y in 0..m.width() {
            for x in 0..m.width() {
                let p = img
                    .get_pixel((x as u32 + 4) * 3 + 1, (y as u32 + 4) * 3 + 2)
                    .0[0];
                assert_eq!(p == 0, m.is_dark(x, y));
            }
        }
        assert_eq!(img.get_pixel(0, 0).0[0], 255);
        assert!(m.to_luma(0).is_err());
        assert!(m.to_luma(MAX_MODULE_PX + 1).is_err());
        let big = QrMatrix::encode(&"A".repeat(3000)).unwrap();
        assert!(big.version() >= 30, "{}", big.version());
        assert_eq!(big.to_luma(MAX_MODULE_PX), Err(QrError::TooLarge));
        assert!(big.to_luma(8).is_ok());
        let png = m.to_png(4).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(m.module_px_to_fit(300), 300 / (m.width() as u32 + 8));
        assert_eq!(m.module_px_to_fit(1), 1);
        // 30 mm at 300 dpi is 354.3 px.
        let px = m.module_px_for_print(30.0, 300);
        assert!(px * (m.width() as u32 + 8) >= 354);
        assert!((px - 1) * (m.width() as u32 + 8) < 354);
    }
}
