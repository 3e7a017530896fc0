//! Image inputs: Chat `image_url` parts and Responses `input_image` items. Only `data:` URLs
//! with base64 data are taken, and only after the decoded bytes are checked to be a PNG, JPEG,
//! GIF or WebP (magic bytes and a sane header) within `codex.max_image_bytes`. Remote
//! `http(s)` URLs are refused (codexd never fetches: server-side request forgery), as are
//! SVG, file ids and anything else; nothing is ever read from a local path. The image bytes
//! never reach a log, a metric or a span.

use crate::http::errors::ApiError;
use serde_json::Value;

/// One image found in the request: the `param` path of its part and its URL as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    pub param: String,
    pub url: String,
}

/// The image formats Codex and the model accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageKind {
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Gif => "image/gif",
            ImageKind::Webp => "image/webp",
        }
    }
}

/// The image part's URL if `part` is an image part (`image_url` on Chat, `input_image` on
/// Responses); `Err` when it is one but carries no usable URL.
pub fn part_url(part: &Value, param: &str) -> Option<Result<ImageRef, ApiError>> {
    let url = match part.get("type").and_then(Value::as_str)? {
        "image_url" => match part.get("image_url") {
            Some(Value::String(u)) => Some(u.clone()),
            Some(Value::Object(o)) => o.get("url").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        },
        "input_image" => {
            if part.get("file_id").is_some_and(|f| !f.is_null()) {
                return Some(Err(ApiError::field(
                    format!("{param}.file_id"),
                    "File ids are not supported: send the image as a data: URL.",
                )));
            }
            part.get("image_url")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }
        _ => return None,
    };
    Some(match url {
        Some(url) => Ok(ImageRef {
            param: param.to_owned(),
            url,
        }),
        // Named by the part's type, as before images were taken: the part is not usable.
        None => Err(ApiError::field(
            format!("{param}.type"),
            "An image part needs an image URL (a data: URL).",
        )),
    })
}

/// Checks one image and returns the `data:` URL to send, typed by what the bytes are.
pub fn check(image: &ImageRef, max_bytes: usize) -> Result<String, ApiError> {
    let param = format!("{}.image_url", image.param);
    let url = image.url.trim();
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    if scheme == "http" || scheme == "https" {
        return Err(ApiError::field(
            param,
            "Remote image URLs are not supported: codexd does not fetch URLs. Send the image as a data: URL (base64).",
        ));
    }
    let Some(rest) = url
        .get(..5)
        .filter(|s| s.eq_ignore_ascii_case("data:"))
        .map(|_| &url[5..])
    else {
        return Err(ApiError::field(param, "The image must be a data: URL."));
    };
    let Some((head, data)) = rest.split_once(',') else {
        return Err(ApiError::field(param, "The data: URL has no data."));
    };
    let mut head_parts = head.split(';');
    let mime = head_parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if !head_parts.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Err(ApiError::field(
            param,
            "The data: URL must be base64-encoded.",
        ));
    }
    if mime.starts_with("image/svg") {
        return Err(ApiError::field(
            param,
            "SVG images are not supported: send a PNG, JPEG, GIF or WebP image.",
        ));
    }
    // Refuse before decoding: base64 carries 3 bytes per 4 characters.
    if data.len() / 4 * 3 > max_bytes + 3 {
        return Err(too_large(param, max_bytes));
    }
    let Some(bytes) = decode_base64(data) else {
        return Err(ApiError::field(
            param,
            "The image data is not valid base64.",
        ));
    };
    if bytes.len() > max_bytes {
        return Err(too_large(param, max_bytes));
    }
    let Some(kind) = sniff(&bytes) else {
        return Err(ApiError::field(
            param,
            "The image is not a valid PNG, JPEG, GIF or WebP image.",
        ));
    };
    Ok(format!("data:{};base64,{}", kind.mime(), data.trim()))
}

fn too_large(param: String, max: usize) -> ApiError {
    ApiError::field(
        param,
        format!("The image exceeds the limit of {max} bytes."),
    )
}

/// What the bytes are, from their magic number and a minimal header check.
pub fn sniff(b: &[u8]) -> Option<ImageKind> {
    let be32 = |i: usize| {
        b.get(i..i + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let le16 = |i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        // The first chunk is IHDR (13 bytes) with a non-zero width and height.
        let ok = b.get(12..16) == Some(b"IHDR")
            && be32(8) == Some(13)
            && be32(16).is_some_and(|w| w > 0)
            && be32(20).is_some_and(|h| h > 0);
        return ok.then_some(ImageKind::Png);
    }
    if b.len() >= 4 && b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(ImageKind::Jpeg);
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        let ok = le16(6).is_some_and(|w| w > 0) && le16(8).is_some_and(|h| h > 0);
        return ok.then_some(ImageKind::Gif);
    }
    if b.len() >= 16 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        let ok = matches!(&b[12..16], b"VP8 " | b"VP8L" | b"VP8X");
        return ok.then_some(ImageKind::Webp);
    }
    None
}

/// Standard base64 (padding optional, whitespace skipped); `None` on any other character.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut padded = false;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padded = true;
                continue;
            }
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        if padded {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 PNG.
    pub const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

    fn img(url: &str) -> ImageRef {
        ImageRef {
            param: "messages[0].content[1]".into(),
            url: url.into(),
        }
    }

    fn msg(url: &str, max: usize) -> String {
        check(&img(url), max).unwrap_err().message("r")
    }

    #[test]
    fn a_png_data_url_passes_and_is_typed_by_its_bytes() {
        let url = check(&img(&format!("data:image/jpeg;base64,{PNG_1X1}")), 1 << 20).unwrap();
        assert_eq!(url, format!("data:image/png;base64,{PNG_1X1}"));
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
    }

    #[test]
    fn remote_svg_corrupt_oversized_and_local_images_are_refused() {
        assert!(msg("https://example.com/a.png", 1 << 20).contains("Remote"));
        assert!(msg("HTTP://example.com/a.png", 1 << 20).contains("Remote"));
        assert!(msg("data:image/svg+xml;base64,PHN2Zy8+", 1 << 20).contains("SVG"));
        assert!(msg("data:image/png;base64,AAAAAAAAAAAA", 1 << 20).contains("not a valid"));
        assert!(msg("data:image/png;base64,@@@", 1 << 20).contains("base64"));
        assert!(msg(&format!("data:image/png;base64,{PNG_1X1}"), 10).contains("limit"));
        assert!(msg("file:///etc/passwd", 1 << 20).contains("data: URL"));
        assert!(msg("/tmp/a.png", 1 << 20).contains("data: URL"));
        let e = check(&img("https://x/y.png"), 10).unwrap_err();
        assert_eq!(e.param(), Some("messages[0].content[1].image_url"));
    }

    #[test]
    fn gif_and_webp_headers_are_recognised() {
        assert_eq!(sniff(b"GIF89a\x01\x00\x01\x00rest"), Some(ImageKind::Gif));
        assert_eq!(sniff(b"GIF89a\x00\x00\x01\x00rest"), None);
        assert_eq!(
            sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 xxxx"),
            Some(ImageKind::Webp)
        );
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageKind::Jpeg));
        assert_eq!(sniff(b"<svg/>"), None);
    }
}
