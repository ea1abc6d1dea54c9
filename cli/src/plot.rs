//! `lineage attribute --method M --plot FILE.png`: the contributors' shares
//! of a fee under the payout rule, as a horizontal bar chart (PNG).
//!
//! The font is embedded (DejaVu Sans), so the chart draws the same on a
//! machine without system fonts.

use alloy_primitives::Address;
use eyre::{bail, eyre};
use plotters::prelude::*;
use std::path::Path;

/// Most contributors drawn (the rest are summed into one "others" bar).
pub const MAX_BARS: usize = 40;

/// One bar: a contributor, its share of the fee (0..=1) and its net score.
#[derive(Clone, Copy, Debug)]
pub struct Bar {
    pub contributor: Address,
    pub share: f64,
    pub score: f64,
}

fn short(a: &Address) -> String {
    let s = a.to_checksum(None);
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}

/// Draw `bars` (any order; drawn by share, largest first) to `path` under
/// `title`. Contributors paid nothing are drawn as empty bars with their
/// (negative or zero) net score beside them.
pub fn shares_png(path: &Path, title: &str, bars: &[Bar]) -> eyre::Result<()> {
    if bars.is_empty() {
        bail!("nothing to plot: no contributors");
    }
    if bars.iter().any(|b| !b.share.is_finite() || !b.score.is_finite() || b.share < 0.0) {
        bail!("cannot plot non-finite or negative shares");
    }
    let mut sorted: Vec<Bar> = bars.to_vec();
    sorted.sort_by(|a, b| b.share.total_cmp(&a.share).then(b.score.total_cmp(&a.score)));
    let mut labels: Vec<String> = sorted.iter().map(|b| short(&b.contributor)).collect();
    if sorted.len() > MAX_BARS {
        let rest = sorted.split_off(MAX_BARS - 1);
        labels.truncate(MAX_BARS - 1);
        labels.push(format!("{} others", rest.len()));
        sorted.push(Bar { contributor: Address::ZERO, share: rest.iter().map(|b| b.share).sum(), score: rest.iter().map(|b| b.score).sum() });
    }
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).map_err(|_| eyre!("the embedded font does not load"))?;
    let n = sorted.len();
    let height = 90 + 24 * n as u32;
    let root = BitMapBackend::new(path, (960, height)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| eyre!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let top = sorted.iter().map(|b| b.share).fold(0.0, f64::max).max(1e-9) * 100.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(130)
        .build_cartesian_2d(0f64..top * 1.25, (0..n).into_segmented())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if *i < n => labels[n - 1 - *i].clone(),
            _ => String::new(),
        })
        .x_desc("share of the fee (%)")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| err(&e))?;
    // row i from the top is segment n − 1 − i
    chart
        .draw_series(sorted.iter().enumerate().map(|(i, b)| {
            let y = n - 1 - i;
            let colour = if b.share > 0.0 { RGBColor(46, 110, 180) } else { RGBColor(200, 200, 200) };
            Rectangle::new([(0.0, SegmentValue::Exact(y)), (b.share * 100.0, SegmentValue::Exact(y + 1))], colour.filled())
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(sorted.iter().enumerate().map(|(i, b)| {
            let y = n - 1 - i;
            Text::new(format!("{:.2} %  (net {:+.4})", b.share * 100.0, b.score), (b.share * 100.0 + top * 0.01, SegmentValue::CenterOf(y)), ("sans-serif", 12))
        }))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png_and_refuses_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.png");
        let bars: Vec<Bar> = (0..45u8).map(|i| Bar { contributor: Address::with_last_byte(i + 1), share: if i < 30 { (i as f64 + 1.0) / 465.0 } else { 0.0 }, score: i as f64 - 30.0 }).collect();
        shares_png(&p, "test", &bars).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width 960, height for MAX_BARS rows
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 960);
        assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 90 + 24 * MAX_BARS as u32);
        assert!(shares_png(&p, "t", &[]).is_err());
        assert!(shares_png(&p, "t", &[Bar { contributor: Address::ZERO, share: f64::NAN, score: 0.0 }]).is_err());
        assert!(shares_png(&dir.path().join("missing/dir/s.png"), "t", &bars[..3]).is_err());
    }
}
