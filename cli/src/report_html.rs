//! A regulator's provenance report as one self-contained HTML page.
//!
//! [`render`] turns a [`ReportData`] (what an audit gathered from a chain and its datanet
//! files) into a single HTML5 document: CSS inline in a `<style>`, plots as inline SVG
//! drawn here, no JavaScript and no external resources of any kind.
//!
//! Every string in [`ReportData`] may come from an attacker (licences, metadata URIs,
//! fault text, addresses typed into a chain), so every string goes through [`escape`]
//! before it reaches the page, and the page also carries a Content-Security-Policy that
//! forbids scripts and remote loads, as a second line of defence.
//!
//! Numbers a machine should check are carried as `data-*` attributes:
//! * `<tr class="query" data-request-id=… data-contributors-wei=… data-predicted-class=…
//!   data-proof-valid=…>` per answered query, with one
//!   `<li class="payout" data-contributor=… data-amount-wei=…>` per payout inside it
//!   (the top 5 visible, the rest in a `<details>`);
//! * `<g class="licence" data-licence=… data-amount-wei=…>` per licence bar;
//! * `<tr class="slash" data-slash-id=… data-request-id=… data-amount-wei=…>` per slash.
//!
//! Wei amounts are decimal strings; unparsable ones count as 0 in sums and plots (their
//! raw text is still shown).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything the report shows.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ReportData {
    /// E.g. "Provenance report: model 0x… of 0x…".
    pub title: String,
    /// UTC time text, shown as is.
    pub generated_at: String,
    pub rpc: String,
    pub chain_id: u64,
    pub head_block: u64,
    /// The verifier parameters the audit pinned.
    pub params_hash: String,
    pub model: ModelInfo,
    pub datanets: Vec<DatanetVersion>,
    pub queries: Vec<AnsweredQuery>,
    pub slashes: Vec<SlashInfo>,
    pub licences: Vec<LicenceShare>,
    /// Audit findings (empty = every payout backed by a valid proof).
    pub findings: Vec<String>,
}

/// The model's registration.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct ModelInfo {
    pub owner: String,
    pub commitment: String,
    pub key_hash: String,
    pub examples: u64,
    pub k: u32,
    pub datanet_owner: String,
    pub datanet_root: String,
}

/// One version of a datanet the model was trained on.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct DatanetVersion {
    pub root: String,
    pub licence: String,
    pub contributions: u64,
    pub contributors: u64,
    pub metadata_uri: String,
    /// Where this version was read from, e.g. "registry #0 v1" or "datanet file".
    pub source: String,
}

/// One answered (and paid) query.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct AnsweredQuery {
    pub request_id: String,
    pub block: u64,
    /// Unix seconds.
    pub timestamp: u64,
    pub query_commitment: String,
    pub predicted_class: u64,
    pub prover: String,
    pub proof_valid: bool,
    pub fee_wei: String,
    pub contributors_wei: String,
    /// Largest first.
    pub payouts: Vec<PayoutRow>,
    pub released: bool,
}

/// One contributor's payout for one query.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct PayoutRow {
    pub contributor: String,
    pub amount_wei: String,
    /// Of the query's `contributors_wei`, 0..=1.
    pub share: f64,
}

/// One slash of a prover or agent.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SlashInfo {
    pub slash_id: String,
    pub agent: String,
    pub request_id: String,
    pub fault: String,
    pub amount_wei: String,
    pub block: u64,
}

/// What one licence's data earned, over all queries.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct LicenceShare {
    pub licence: String,
    pub amount_wei: String,
    pub share: f64,
}

/// 1 OPEN = 10^18 wei.
const WEI_PER_OPEN: u128 = 1_000_000_000_000_000_000;
/// Queries drawn in the share-distribution plot.
const MAX_STACKED: usize = 50;
/// Contributors listed (and drawn) per query.
const TOP_PER_QUERY: usize = 5;
/// Contributors drawn in the payouts-over-time plot.
const TOP_CONTRIBUTORS: usize = 8;
/// Width of every SVG's view box; the SVGs scale to the page width.
const SVG_W: f64 = 900.0;
/// Okabe–Ito based colours (told apart with colour-blindness) for series and ranks.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#8C6D31",
];
/// Text colour readable on each [`PALETTE`] colour.
const PALETTE_TEXT: [&str; 8] = [
    "#ffffff", "#000000", "#ffffff", "#000000", "#000000", "#ffffff", "#ffffff", "#ffffff",
];
/// Dash patterns, so that lines stay apart in greyscale print.
const DASHES: [&str; 4] = ["none", "7 3", "2 3", "9 3 2 3"];
/// Colour of the "others" part of a stacked bar.
const OTHERS: &str = "#d3d6da";
/// A monospace font stack for SVG text.
const MONO: &str = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";

const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1b1d1f; --muted: #5f6368; --border: #c4c8cc; --head: #f1f3f4;
  --ok: #0b6b2e; --okbg: #e6f4ea; --bad: #a50e0e; --badbg: #fce8e6; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .6rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 2px solid var(--border); }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; }
.mono, .wei { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: .85em; overflow-wrap: anywhere; word-break: break-all; }
.wei, .muted { color: var(--muted); }
.wei { font-size: .75em; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid var(--border); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--head); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
table.kv th { width: 14rem; }
.scroll { overflow-x: auto; }
.banner { margin: 1rem 0; padding: .8rem 1rem; border: 2px solid; border-radius: 6px; font-size: 1.15rem; font-weight: 700; }
.banner.ok { color: var(--ok); background: var(--okbg); border-color: var(--ok); }
.banner.bad { color: var(--bad); background: var(--badbg); border-color: var(--bad); }
.banner small { display: block; font-size: .85rem; font-weight: 400; color: var(--fg); }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .6rem; }
.stat { border: 1px solid var(--border); border-radius: 6px; padding: .5rem .7rem; }
.stat .v { display: block; font-size: 1.3rem; font-weight: 700; overflow-wrap: anywhere; }
.stat .k { color: var(--muted); font-size: .85rem; }
.good { color: var(--ok); font-weight: 600; }
.badtxt { color: var(--bad); font-weight: 700; }
ol.payouts { margin: 0; padding-left: 1.5rem; }
details summary { cursor: pointer; color: var(--muted); }
ol.findings li { color: var(--bad); margin-bottom: .3rem; overflow-wrap: anywhere; }
figure { margin: 1rem 0 2rem; }
figcaption { font-weight: 600; margin-bottom: .4rem; }
svg.chart { display: block; width: 100%; max-width: 900px; height: auto; font-family: inherit; }
ul.legend { list-style: none; margin: .4rem 0; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; font-size: .85rem; }
ul.legend li { display: flex; align-items: center; gap: .35rem; }
.swatch { display: inline-block; width: .9rem; height: .9rem; border: 1px solid #0004; }
.nodata { color: var(--muted); font-style: italic; }
footer { margin-top: 3rem; color: var(--muted); font-size: .8rem; }
@page { margin: 14mm; }
@media print {
  body { font-size: 9.5pt; }
  main { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  h2, h3, figcaption { break-after: avoid; }
  tr, figure, .banner, .stat { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  .banner, .swatch, th, svg { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// Renders the whole report as one self-contained HTML5 page.
pub fn render(data: &ReportData) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = if data.title.trim().is_empty() { "Provenance report" } else { data.title.as_str() };
    out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    out.push_str(&format!("<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n", escape(title)));
    header(&mut out, data, title);
    summary(&mut out, data);
    model_section(&mut out, &data.model);
    datanets_section(&mut out, &data.datanets);
    queries_section(&mut out, &data.queries);
    slashes_section(&mut out, &data.slashes);
    findings_section(&mut out, &data.findings);
    plots_section(&mut out, data);
    out.push_str(
        "<footer>Generated by <span class=\"mono\">lineage audit</span>. This page is self-contained: \
         no scripts, no remote resources. Machine-readable values are in the <span class=\"mono\">data-*</span> \
         attributes of query, payout, licence and slash elements. Amounts in OPEN are truncated to 6 decimals \
         (1 OPEN = 10<sup>18</sup> wei).</footer>\n</main>\n</body>\n</html>\n",
    );
    out
}

// ---------------------------------------------------------------------------------------
// Small helpers

/// HTML-escapes text for element content and (double- or single-quoted) attribute values.
///
/// Besides `& < > " '`, control characters and Unicode bidi controls (which could make
/// an address or licence read differently than it is) become U+FFFD.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' | '\r' => out.push(c),
            '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => out.push('\u{FFFD}'),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A wei amount from its decimal text; anything unparsable is 0.
fn wei(s: &str) -> u128 {
    s.trim().parse().unwrap_or(0)
}

/// Wei as OPEN with 6 decimals (truncated), e.g. `1.234567`.
fn open_amount(wei: u128) -> String {
    format!("{}.{:06}", wei / WEI_PER_OPEN, (wei % WEI_PER_OPEN) / 1_000_000_000_000)
}

/// Wei as OPEN, as a float for plotting.
fn open_f64(wei: u128) -> f64 {
    wei as f64 / WEI_PER_OPEN as f64
}

/// An amount cell's content: OPEN, with the raw wei text below.
fn amount_html(wei_text: &str) -> String {
    format!(
        "{} OPEN<br><span class=\"wei\">{} wei</span>",
        open_amount(wei(wei_text)),
        escape(wei_text)
    )
}

/// Unix seconds as UTC `yyyy-mm-dd hh:mm:ss`.
pub fn utc_time(secs: u64) -> String {
    let (y, m, d) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A share clamped into 0..=1 (NaN and infinities become 0).
fn fraction(share: f64) -> f64 {
    if share.is_finite() { share.clamp(0.0, 1.0) } else { 0.0 }
}

/// A share as a percentage with 2 decimals.
fn percent(share: f64) -> String {
    format!("{:.2}%", fraction(share) * 100.0)
}

/// `part / whole` as a fraction, 0 when `whole` is 0.
fn ratio(part: u128, whole: u128) -> f64 {
    if whole == 0 { 0.0 } else { fraction(part as f64 / whole as f64) }
}

/// An SVG coordinate: always a finite number.
fn num(x: f64) -> String {
    if x.is_finite() { format!("{x:.1}") } else { "0".to_string() }
}

/// At most `max` characters of `s`, with "…" when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A long hash or address shortened to `0x1234…abcd`.
fn short(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 14 {
        return s.to_string();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// "1 thing" / "2 things".
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A muted note where a plot has nothing to draw.
fn no_data(what: &str) -> String {
    format!("<p class=\"nodata\">No data: {}</p>\n", escape(what))
}

/// A monospace cell, or a dash when empty.
fn mono_cell(s: &str) -> String {
    if s.is_empty() { "<td class=\"muted\">—</td>".to_string() } else { format!("<td class=\"mono\">{}</td>", escape(s)) }
}

/// A step of 1, 2 or 5 × 10^k near `raw` (1 when `raw` is not a positive number).
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    let step = nice * mag;
    if step.is_finite() && step > 0.0 { step } else { 1.0 }
}

/// A tick label for an OPEN axis whose ticks are `step` apart.
fn tick_label(v: f64, step: f64) -> String {
    if v.abs() >= 1e7 {
        format!("{v:.2e}")
    } else if step >= 1.0 {
        format!("{v:.0}")
    } else {
        let decimals = (-step.log10()).ceil().clamp(0.0, 6.0) as usize;
        format!("{v:.decimals$}")
    }
}

/// A query's payouts, largest amount first (ties keep their order).
fn sorted_payouts(q: &AnsweredQuery) -> Vec<&PayoutRow> {
    let mut rows: Vec<&PayoutRow> = q.payouts.iter().collect();
    rows.sort_by_key(|p| std::cmp::Reverse(wei(&p.amount_wei)));
    rows
}

/// A query's top contributors with their shares as drawable fractions, and the
/// fraction left for everyone else (shares summing past 1 are scaled down).
fn top_shares(q: &AnsweredQuery) -> (Vec<(&PayoutRow, f64)>, f64) {
    let mut top: Vec<(&PayoutRow, f64)> =
        sorted_payouts(q).into_iter().take(TOP_PER_QUERY).map(|p| (p, fraction(p.share))).collect();
    let sum: f64 = top.iter().map(|(_, f)| f).sum();
    if sum > 1.0 {
        for (_, f) in &mut top {
            *f /= sum;
        }
    }
    let sum: f64 = top.iter().map(|(_, f)| f).sum();
    (top, fraction(1.0 - sum))
}

/// Opens an SVG chart with an accessible title.
fn svg_open(out: &mut String, id: &str, height: f64, title: &str) {
    out.push_str(&format!(
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"{id}-t\">\
         <title id=\"{id}-t\">{}</title>\n",
        num(SVG_W),
        num(height),
        escape(title)
    ));
}

/// Vertical percentage grid lines with labels on top, for bars from `x0` over `w`.
fn percent_grid(out: &mut String, x0: f64, w: f64, top: f64, bottom: f64) {
    for p in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let x = x0 + w * p / 100.0;
        out.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{y1}\" x2=\"{x}\" y2=\"{y2}\" stroke=\"#e0e3e6\"/>\
             <text x=\"{x}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5f6368\">{p}%</text>\n",
            x = num(x),
            y1 = num(top - 4.0),
            y2 = num(bottom),
            ty = num(top - 8.0),
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Sections

/// Title and where the data came from.
fn header(out: &mut String, data: &ReportData, title: &str) {
    out.push_str(&format!("<header>\n<h1>{}</h1>\n<table class=\"kv\">\n", escape(title)));
    out.push_str(&format!("<tr><th>Generated (UTC)</th><td>{}</td></tr>\n", escape(&data.generated_at)));
    out.push_str(&format!("<tr><th>Chain id</th><td class=\"mono\">{}</td></tr>\n", data.chain_id));
    out.push_str(&format!("<tr><th>Head block</th><td class=\"mono\">{}</td></tr>\n", data.head_block));
    out.push_str(&format!("<tr><th>RPC endpoint</th>{}</tr>\n", mono_cell(&data.rpc)));
    out.push_str(&format!("<tr><th>Verifier parameters hash</th>{}</tr>\n", mono_cell(&data.params_hash)));
    out.push_str("</table>\n</header>\n");
}

/// The verdict banner and headline numbers.
fn summary(out: &mut String, data: &ReportData) {
    let n = data.queries.len();
    let valid = data.queries.iter().filter(|q| q.proof_valid).count();
    let invalid = n - valid;
    let released = data.queries.iter().filter(|q| q.released).count();
    let paid = data.queries.iter().fold(0u128, |a, q| a.saturating_add(wei(&q.contributors_wei)));
    let fees = data.queries.iter().fold(0u128, |a, q| a.saturating_add(wei(&q.fee_wei)));
    let slashed = data.slashes.iter().fold(0u128, |a, s| a.saturating_add(wei(&s.amount_wei)));
    let findings = data.findings.len();

    out.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n");
    if findings > 0 {
        out.push_str(&format!(
            "<div class=\"banner bad\" role=\"alert\">✖ {}<small>The audit found problems; see Findings below.</small></div>\n",
            plural(findings, "FINDING", "FINDINGS")
        ));
    } else if invalid > 0 {
        out.push_str(&format!(
            "<div class=\"banner bad\" role=\"alert\">✖ {} WITHOUT A VALID PROOF<small>No findings were recorded, \
             but not every answered query carries a valid proof.</small></div>\n",
            plural(invalid, "ANSWER", "ANSWERS")
        ));
    } else {
        out.push_str(
            "<div class=\"banner ok\" role=\"status\">✔ Every payout is backed by a valid proof\
             <small>The audit recorded no findings.</small></div>\n",
        );
    }
    let stat = |v: String, k: &str| format!("<div class=\"stat\"><span class=\"v\">{v}</span><span class=\"k\">{k}</span></div>\n");
    out.push_str("<div class=\"stats\">\n");
    out.push_str(&stat(n.to_string(), "queries answered"));
    let class = if invalid == 0 { "good" } else { "badtxt" };
    out.push_str(&stat(format!("<span class=\"{class}\">{valid}</span> / {n}"), "proofs valid"));
    out.push_str(&stat(format!("{} OPEN", open_amount(paid)), "paid to contributors"));
    out.push_str(&stat(format!("{} OPEN", open_amount(fees)), &format!("in fees; {released} of {n} released")));
    out.push_str(&stat(data.slashes.len().to_string(), &format!("slashes ({} OPEN)", open_amount(slashed))));
    let class = if findings == 0 { "good" } else { "badtxt" };
    out.push_str(&stat(format!("<span class=\"{class}\">{findings}</span>"), "findings"));
    out.push_str("</div>\n</section>\n");
}

/// The model's registration.
fn model_section(out: &mut String, m: &ModelInfo) {
    out.push_str("<section id=\"model\">\n<h2>Model registration</h2>\n<table class=\"kv\">\n");
    for (k, v) in [
        ("Owner", &m.owner),
        ("Model commitment", &m.commitment),
        ("Verifying key hash", &m.key_hash),
        ("Datanet owner", &m.datanet_owner),
        ("Datanet root", &m.datanet_root),
    ] {
        out.push_str(&format!("<tr><th>{k}</th>{}</tr>\n", mono_cell(v)));
    }
    out.push_str(&format!("<tr><th>Training examples</th><td>{}</td></tr>\n", m.examples));
    out.push_str(&format!("<tr><th>k (influential examples per answer)</th><td>{}</td></tr>\n", m.k));
    out.push_str("</table>\n</section>\n");
}

/// A metadata URI as text; a link only when it is `https://` (and escaped even then).
fn uri_html(uri: &str) -> String {
    if uri.is_empty() {
        "<span class=\"muted\">—</span>".to_string()
    } else if uri.starts_with("https://") {
        let e = escape(uri);
        format!("<a class=\"mono\" href=\"{e}\" rel=\"noopener noreferrer nofollow\">{e}</a>")
    } else {
        format!("<span class=\"mono\">{}</span>", escape(uri))
    }
}

/// The datanet versions table.
fn datanets_section(out: &mut String, datanets: &[DatanetVersion]) {
    out.push_str("<section id=\"datanets\">\n<h2>Datanet versions</h2>\n");
    if datanets.is_empty() {
        out.push_str("<p class=\"muted\">No datanet versions.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table>\n<thead><tr><th>Source</th><th>Root</th><th>Licence</th>\
         <th class=\"num\">Contributions</th><th class=\"num\">Contributors</th><th>Metadata URI</th></tr></thead>\n<tbody>\n",
    );
    for d in datanets {
        out.push_str(&format!(
            "<tr class=\"datanet\"><td>{}</td>{}<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
            escape(&d.source),
            mono_cell(&d.root),
            escape(&d.licence),
            d.contributions,
            d.contributors,
            uri_html(&d.metadata_uri)
        ));
    }
    out.push_str("</tbody>\n</table></div>\n</section>\n");
}

/// One payout list item, carrying its machine-checkable attributes.
fn payout_item(p: &PayoutRow) -> String {
    format!(
        "<li class=\"payout\" data-contributor=\"{c}\" data-amount-wei=\"{w}\"><span class=\"mono\">{c}</span> \
         <strong>{pct}</strong> <span class=\"muted\">{open} OPEN</span></li>\n",
        c = escape(&p.contributor),
        w = escape(&p.amount_wei),
        pct = percent(p.share),
        open = open_amount(wei(&p.amount_wei)),
    )
}

/// The answered queries table, one row per query.
fn queries_section(out: &mut String, queries: &[AnsweredQuery]) {
    out.push_str("<section id=\"queries\">\n<h2>Answered queries</h2>\n");
    if queries.is_empty() {
        out.push_str("<p class=\"muted\">No answered queries.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table>\n<thead><tr><th class=\"num\">#</th><th>Request id</th><th class=\"num\">Block</th>\
         <th>Time (UTC)</th><th class=\"num\">Class</th><th>Prover</th><th>Proof</th><th class=\"num\">Fee</th>\
         <th class=\"num\">To contributors</th><th class=\"num\">Payouts</th><th>Top contributors (share)</th></tr></thead>\n<tbody>\n",
    );
    for (i, q) in queries.iter().enumerate() {
        let fee = wei(&q.fee_wei);
        let to_contributors = wei(&q.contributors_wei);
        let proof = if q.proof_valid {
            "<span class=\"good\">✔ valid</span>"
        } else {
            "<span class=\"badtxt\">✖ INVALID</span>"
        };
        let release = if q.released { "released" } else { "not released" };
        out.push_str(&format!(
            "<tr class=\"query\" data-request-id=\"{}\" data-contributors-wei=\"{}\" data-predicted-class=\"{}\" data-proof-valid=\"{}\">\n",
            escape(&q.request_id),
            escape(&q.contributors_wei),
            q.predicted_class,
            q.proof_valid
        ));
        out.push_str(&format!(
            "<td class=\"num\">{}</td><td><span class=\"mono\">{}</span><br><span class=\"muted\">query</span> \
             <span class=\"wei\">{}</span></td><td class=\"num\">{}</td><td class=\"nowrap\">{}</td><td class=\"num\">{}</td>\
             {}<td>{proof}<br><span class=\"muted\">{release}</span></td>\n",
            i + 1,
            escape(&q.request_id),
            escape(&q.query_commitment),
            q.block,
            utc_time(q.timestamp),
            // a claim whose proof did not verify proved no class
            if q.proof_valid { q.predicted_class.to_string() } else { "—".to_string() },
            mono_cell(&q.prover),
        ));
        out.push_str(&format!(
            "<td class=\"num\">{}</td><td class=\"num\">{}<br><span class=\"muted\">{} of fee</span></td><td class=\"num\">{}</td>\n",
            amount_html(&q.fee_wei),
            amount_html(&q.contributors_wei),
            percent(ratio(to_contributors, fee)),
            q.payouts.len()
        ));
        let payouts = sorted_payouts(q);
        if payouts.is_empty() {
            out.push_str("<td class=\"muted\">none</td>\n");
        } else {
            out.push_str("<td><ol class=\"payouts\">\n");
            for p in payouts.iter().take(TOP_PER_QUERY) {
                out.push_str(&payout_item(p));
            }
            out.push_str("</ol>\n");
            if payouts.len() > TOP_PER_QUERY {
                out.push_str(&format!(
                    "<details><summary>{} more</summary><ol class=\"payouts\" start=\"{}\">\n",
                    payouts.len() - TOP_PER_QUERY,
                    TOP_PER_QUERY + 1
                ));
                for p in &payouts[TOP_PER_QUERY..] {
                    out.push_str(&payout_item(p));
                }
                out.push_str("</ol></details>\n");
            }
            out.push_str("</td>\n");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n</section>\n");
}

/// The slashes table.
fn slashes_section(out: &mut String, slashes: &[SlashInfo]) {
    out.push_str("<section id=\"slashes\">\n<h2>Slashes</h2>\n");
    if slashes.is_empty() {
        out.push_str("<p class=\"muted\">No slashes.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table>\n<thead><tr><th>Slash id</th><th>Agent</th><th>Request id</th><th>Fault</th>\
         <th class=\"num\">Amount</th><th class=\"num\">Block</th></tr></thead>\n<tbody>\n",
    );
    for s in slashes {
        out.push_str(&format!(
            "<tr class=\"slash\" data-slash-id=\"{}\" data-request-id=\"{}\" data-amount-wei=\"{}\">{}{}{}<td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            escape(&s.slash_id),
            escape(&s.request_id),
            escape(&s.amount_wei),
            mono_cell(&s.slash_id),
            mono_cell(&s.agent),
            mono_cell(&s.request_id),
            escape(&s.fault),
            amount_html(&s.amount_wei),
            s.block
        ));
    }
    out.push_str("</tbody>\n</table></div>\n</section>\n");
}

/// The audit findings.
fn findings_section(out: &mut String, findings: &[String]) {
    out.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    if findings.is_empty() {
        out.push_str("<p class=\"good\">No findings: every payout is backed by a valid proof.</p>\n");
    } else {
        out.push_str("<ol class=\"findings\">\n");
        for f in findings {
            out.push_str(&format!("<li>{}</li>\n", escape(f)));
        }
        out.push_str("</ol>\n");
    }
    out.push_str("</section>\n");
}

/// The three plots.
fn plots_section(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"plots\">\n<h2>Plots</h2>\n");
    out.push_str("<figure id=\"plot-shares\">\n<figcaption>Share distribution per query</figcaption>\n");
    out.push_str(&stacked_bars(&data.queries));
    out.push_str("</figure>\n<figure id=\"plot-payouts\">\n<figcaption>Payouts per contributor over time</figcaption>\n");
    out.push_str(&step_chart(&data.queries));
    out.push_str("</figure>\n<figure id=\"plot-licences\">\n<figcaption>Licences by share of influence</figcaption>\n");
    out.push_str(&bar_chart(&data.licences));
    out.push_str("</figure>\n</section>\n");
}

// ---------------------------------------------------------------------------------------
// Plots

/// Plot 1: per query, a 100% stacked bar of its top contributors' shares plus "others"
/// (at most [`MAX_STACKED`] queries).
fn stacked_bars(queries: &[AnsweredQuery]) -> String {
    if queries.is_empty() {
        return no_data("no answered queries.");
    }
    const LABEL_W: f64 = 190.0;
    const RIGHT: f64 = 22.0;
    const TOP: f64 = 26.0;
    const ROW: f64 = 20.0;
    const BAR: f64 = 14.0;
    let shown = &queries[..queries.len().min(MAX_STACKED)];
    let bar_w = SVG_W - LABEL_W - RIGHT;
    let height = TOP + ROW * shown.len() as f64 + 8.0;
    let mut out = String::new();
    svg_open(&mut out, "plot-shares", height, "Share distribution per query: top contributors and others");
    percent_grid(&mut out, LABEL_W, bar_w, TOP, height - 6.0);
    for (i, q) in shown.iter().enumerate() {
        let y = TOP + ROW * i as f64 + (ROW - BAR) / 2.0;
        out.push_str(&format!(
            "<g class=\"stack\"><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" font-family=\"{MONO}\">\
             <title>{}</title>#{} {}</text>\n",
            num(LABEL_W - 8.0),
            num(y + BAR - 3.0),
            escape(&q.request_id),
            i + 1,
            escape(&short(&q.request_id))
        ));
        if q.payouts.is_empty() {
            out.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#c4c8cc\" stroke-dasharray=\"3 3\"/>\
                 <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#5f6368\">no payouts</text></g>\n",
                num(LABEL_W),
                num(y),
                num(bar_w),
                num(BAR),
                num(LABEL_W + 6.0),
                num(y + BAR - 3.0)
            ));
            continue;
        }
        let (top, others) = top_shares(q);
        let mut x = LABEL_W;
        let segments = top
            .iter()
            .enumerate()
            .map(|(rank, (p, f))| (PALETTE[rank], PALETTE_TEXT[rank], p.contributor.as_str(), *f))
            .chain(std::iter::once((OTHERS, "#000000", "others", others)));
        for (fill, ink, who, f) in segments {
            let w = bar_w * f;
            if !(w >= 0.05) {
                continue;
            }
            out.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"0.5\">\
                 <title>{}: {}</title></rect>",
                num(x),
                num(y),
                num(w),
                num(BAR),
                escape(who),
                percent(f)
            ));
            if w >= 44.0 {
                out.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"{ink}\">{}</text>",
                    num(x + w / 2.0),
                    num(y + BAR - 3.5),
                    percent(f)
                ));
            }
            x += w;
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n<ul class=\"legend\">\n");
    for (rank, name) in ["largest", "2nd", "3rd", "4th", "5th"].iter().enumerate() {
        out.push_str(&format!(
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{name} contributor</li>\n",
            PALETTE[rank]
        ));
    }
    out.push_str(&format!("<li><span class=\"swatch\" style=\"background:{OTHERS}\"></span>others</li>\n</ul>\n"));
    out.push_str("<p class=\"muted\">Hover a segment for the contributor's address; the query table lists them.</p>\n");
    if queries.len() > shown.len() {
        out.push_str(&format!(
            "<p class=\"muted\">Showing the first {} of {} queries; {} left out.</p>\n",
            shown.len(),
            queries.len(),
            queries.len() - shown.len()
        ));
    }
    out
}

/// One contributor's payouts: cumulative wei after each block that paid them.
struct Series {
    label: String,
    total: u128,
    points: Vec<(u64, u128)>,
}

/// The [`TOP_CONTRIBUTORS`] largest contributors overall (addresses compared case-blind),
/// and how many contributors were paid anything.
fn contributor_series(queries: &[AnsweredQuery]) -> (Vec<Series>, usize) {
    let mut by_key: BTreeMap<String, Series> = BTreeMap::new();
    for q in queries {
        for p in &q.payouts {
            let s = by_key.entry(p.contributor.trim().to_ascii_lowercase()).or_insert_with(|| Series {
                label: p.contributor.clone(),
                total: 0,
                points: Vec::new(),
            });
            let amount = wei(&p.amount_wei);
            s.total = s.total.saturating_add(amount);
            s.points.push((q.block, amount));
        }
    }
    let mut all: Vec<Series> = by_key.into_values().filter(|s| s.total > 0).collect();
    let paid = all.len();
    all.sort_by_key(|s| std::cmp::Reverse(s.total));
    all.truncate(TOP_CONTRIBUTORS);
    for s in &mut all {
        s.points.sort_by_key(|&(block, _)| block);
        let mut cumulative: Vec<(u64, u128)> = Vec::with_capacity(s.points.len());
        let mut sum = 0u128;
        for &(block, amount) in &s.points {
            sum = sum.saturating_add(amount);
            match cumulative.last_mut() {
                Some(last) if last.0 == block => last.1 = sum,
                _ => cumulative.push((block, sum)),
            }
        }
        s.points = cumulative;
    }
    (all, paid)
}

/// Plot 2: cumulative OPEN paid to each of the largest contributors, as step lines over
/// block number.
fn step_chart(queries: &[AnsweredQuery]) -> String {
    let (series, paid) = contributor_series(queries);
    if series.is_empty() {
        return no_data("no payouts to contributors.");
    }
    const LEFT: f64 = 84.0;
    const RIGHT: f64 = 24.0;
    const TOP: f64 = 16.0;
    const BOTTOM: f64 = 46.0;
    const HEIGHT: f64 = 360.0;
    let plot_w = SVG_W - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;

    // x: blocks of all answered queries, never an empty span.
    let mut x_lo = queries.iter().map(|q| q.block).min().unwrap_or(0);
    let mut x_hi = queries.iter().map(|q| q.block).max().unwrap_or(0);
    if x_hi <= x_lo {
        if x_lo == u64::MAX {
            x_lo -= 1;
        } else {
            x_hi = x_lo + 1;
        }
    }
    let span = x_hi - x_lo;
    let x_of = |b: u64| LEFT + plot_w * ((b.clamp(x_lo, x_hi) - x_lo) as f64 / span as f64);

    // y: OPEN, from 0 to a round number above the largest total.
    let y_max = series.iter().map(|s| open_f64(s.total)).fold(0.0f64, f64::max);
    let y_max = if y_max.is_finite() && y_max > 0.0 { y_max } else { 1.0 };
    let y_step = nice_step(y_max / 5.0);
    let y_top = (y_max / y_step).ceil() * y_step;
    let y_top = if y_top.is_finite() && y_top > 0.0 { y_top } else { y_max };
    let y_of = |v: f64| TOP + plot_h * (1.0 - fraction(v / y_top));

    let mut out = String::new();
    svg_open(&mut out, "plot-payouts", HEIGHT, "Cumulative OPEN paid to the largest contributors by block");
    // y grid and ticks
    let mut k = 0u32;
    while k <= 20 {
        let v = y_step * f64::from(k);
        if v > y_top * (1.0 + 1e-9) {
            break;
        }
        let y = y_of(v);
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#e0e3e6\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5f6368\">{}</text>\n",
            num(LEFT),
            num(LEFT + plot_w),
            num(LEFT - 6.0),
            num(y_of(v) + 4.0),
            tick_label(v, y_step),
            y = num(y),
        ));
        k += 1;
    }
    // x ticks: whole blocks, 1/2/5 × 10^k apart.
    let x_step = (nice_step(span as f64 / 6.0).max(1.0) as u64).max(1);
    let mut tick = x_lo.div_ceil(x_step).checked_mul(x_step);
    let mut count = 0;
    while let Some(t) = tick {
        if t > x_hi || count > 20 {
            break;
        }
        let x = num(x_of(t));
        out.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#5f6368\"/>\
             <text x=\"{x}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5f6368\">{t}</text>\n",
            num(TOP + plot_h),
            num(TOP + plot_h + 5.0),
            num(TOP + plot_h + 18.0),
        ));
        tick = t.checked_add(x_step);
        count += 1;
    }
    // axes and their titles
    out.push_str(&format!(
        "<path d=\"M{l} {t} V{b} H{r}\" fill=\"none\" stroke=\"#5f6368\"/>\
         <text x=\"{cx}\" y=\"{by}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#1b1d1f\">block</text>\
         <text x=\"14\" y=\"{cy}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#1b1d1f\" transform=\"rotate(-90 14 {cy})\">OPEN paid (cumulative)</text>\n",
        l = num(LEFT),
        t = num(TOP),
        b = num(TOP + plot_h),
        r = num(LEFT + plot_w),
        cx = num(LEFT + plot_w / 2.0),
        by = num(HEIGHT - 6.0),
        cy = num(TOP + plot_h / 2.0),
    ));
    // one step line per contributor
    for (i, s) in series.iter().enumerate() {
        let mut d = format!("M{} {}", num(x_of(x_lo)), num(y_of(0.0)));
        for &(block, cumulative) in &s.points {
            d.push_str(&format!(" H{} V{}", num(x_of(block)), num(y_of(open_f64(cumulative)))));
        }
        d.push_str(&format!(" H{}", num(x_of(x_hi))));
        out.push_str(&format!(
            "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\">\
             <title>{}: {} OPEN</title></path>\n",
            PALETTE[i % PALETTE.len()],
            DASHES[i % DASHES.len()],
            escape(&s.label),
            open_amount(s.total)
        ));
    }
    out.push_str("</svg>\n<ul class=\"legend\">\n");
    for (i, s) in series.iter().enumerate() {
        out.push_str(&format!(
            "<li><svg width=\"28\" height=\"10\" viewBox=\"0 0 28 10\" aria-hidden=\"true\"><line x1=\"0\" y1=\"5\" x2=\"28\" y2=\"5\" \
             stroke=\"{}\" stroke-width=\"3\" stroke-dasharray=\"{}\"/></svg><span class=\"mono\">{}</span> {} OPEN</li>\n",
            PALETTE[i % PALETTE.len()],
            DASHES[i % DASHES.len()],
            escape(&s.label),
            open_amount(s.total)
        ));
    }
    out.push_str("</ul>\n");
    if paid > series.len() {
        out.push_str(&format!(
            "<p class=\"muted\">The {} largest of {} paid contributors are shown.</p>\n",
            series.len(),
            paid
        ));
    }
    out
}

/// Plot 3: one horizontal bar per licence, its share of influence with a percentage label.
fn bar_chart(licences: &[LicenceShare]) -> String {
    if licences.is_empty() {
        return no_data("no licences.");
    }
    const LABEL_W: f64 = 210.0;
    const VALUE_W: f64 = 220.0;
    const TOP: f64 = 26.0;
    const ROW: f64 = 28.0;
    const BAR: f64 = 18.0;
    let bar_w = SVG_W - LABEL_W - VALUE_W;
    let height = TOP + ROW * licences.len() as f64 + 6.0;
    let mut sorted: Vec<&LicenceShare> = licences.iter().collect();
    sorted.sort_by(|a, b| fraction(b.share).total_cmp(&fraction(a.share)));

    let mut out = String::new();
    svg_open(&mut out, "plot-licences", height, "Share of influence by licence");
    percent_grid(&mut out, LABEL_W, bar_w, TOP, height - 4.0);
    for (i, l) in sorted.iter().enumerate() {
        let y = TOP + ROW * i as f64 + (ROW - BAR) / 2.0;
        let f = fraction(l.share);
        let name = if l.licence.is_empty() { "(no licence)" } else { l.licence.as_str() };
        let value = format!("{} · {} OPEN", percent(f), open_amount(wei(&l.amount_wei)));
        out.push_str(&format!(
            "<g class=\"licence\" data-licence=\"{}\" data-amount-wei=\"{}\"><title>{}: {}</title>\
             <text x=\"{}\" y=\"{ty}\" font-size=\"12\" text-anchor=\"end\">{}</text>\
             <rect x=\"{x0}\" y=\"{y}\" width=\"{}\" height=\"{h}\" fill=\"#f1f3f4\"/>\
             <rect x=\"{x0}\" y=\"{y}\" width=\"{}\" height=\"{h}\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{ty}\" font-size=\"12\">{}</text></g>\n",
            escape(&l.licence),
            escape(&l.amount_wei),
            escape(name),
            value,
            num(LABEL_W - 8.0),
            escape(&truncate(name, 30)),
            num(bar_w),
            num(bar_w * f),
            PALETTE[i % PALETTE.len()],
            num(LABEL_W + bar_w + 8.0),
            value,
            x0 = num(LABEL_W),
            y = num(y),
            h = num(BAR),
            ty = num(y + BAR - 5.0),
        ));
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: u128 = WEI_PER_OPEN;

    fn payout(contributor: &str, amount: u128, total: u128) -> PayoutRow {
        PayoutRow { contributor: contributor.into(), amount_wei: amount.to_string(), share: ratio(amount, total) }
    }

    fn query(id: &str, block: u64, class: u64, valid: bool, amounts: &[(&str, u128)]) -> AnsweredQuery {
        let total: u128 = amounts.iter().map(|(_, a)| a).sum();
        AnsweredQuery {
            request_id: id.into(),
            block,
            timestamp: 1_700_000_000 + block,
            query_commitment: format!("0xq{block}"),
            predicted_class: class,
            prover: "0x00000000000000000000000000000000000000b0".into(),
            proof_valid: valid,
            fee_wei: (total + total / 9).to_string(),
            contributors_wei: total.to_string(),
            payouts: amounts.iter().map(|(c, a)| payout(c, *a, total)).collect(),
            released: true,
        }
    }

    fn empty() -> ReportData {
        ReportData {
            title: String::new(),
            generated_at: String::new(),
            rpc: String::new(),
            chain_id: 0,
            head_block: 0,
            params_hash: String::new(),
            model: ModelInfo {
                owner: String::new(),
                commitment: String::new(),
                key_hash: String::new(),
                examples: 0,
                k: 0,
                datanet_owner: String::new(),
                datanet_root: String::new(),
            },
            datanets: vec![],
            queries: vec![],
            slashes: vec![],
            licences: vec![],
            findings: vec![],
        }
    }

    fn sample() -> ReportData {
        let mut d = empty();
        d.title = "Provenance report: model 0xm0 of 0xowner".into();
        d.generated_at = "2025-01-02 03:04:05 UTC".into();
        d.rpc = "http://127.0.0.1:8545".into();
        d.chain_id = 31337;
        d.head_block = 120;
        d.params_hash = "0xparams".into();
        d.model = ModelInfo {
            owner: "0xowner".into(),
            commitment: "0xcommit".into(),
            key_hash: "0xkey".into(),
            examples: 1797,
            k: 8,
            datanet_owner: "0xdnowner".into(),
            datanet_root: "0xroot1".into(),
        };
        d.datanets = vec![DatanetVersion {
            root: "0xroot1".into(),
            licence: "CC-BY-4.0".into(),
            contributions: 1797,
            contributors: 12,
            metadata_uri: "ipfs://bafy".into(),
            source: "registry #0 v1".into(),
        }];
        d.queries = vec![
            query("0xaaa1", 10, 7, true, &[("0xc1", OPEN / 2), ("0xc2", 3 * OPEN / 10), ("0xc3", OPEN / 5)]),
            query(
                "0xaaa2",
                20,
                3,
                true,
                &[("0xc1", 4), ("0xc2", 3), ("0xc4", 2), ("0xc5", 1), ("0xc6", 1), ("0xc7", 1), ("0xc8", 1)],
            ),
            query("0xaaa3", 35, 0, false, &[("0xc2", 2 * OPEN)]),
        ];
        d.slashes = vec![SlashInfo {
            slash_id: "0x51".into(),
            agent: "0x00000000000000000000000000000000000000b0".into(),
            request_id: "0xaaa3".into(),
            fault: "invalid proof".into(),
            amount_wei: (5 * OPEN).to_string(),
            block: 40,
        }];
        d.licences = vec![
            LicenceShare { licence: "CC-BY-4.0".into(), amount_wei: (3 * OPEN).to_string(), share: 0.75 },
            LicenceShare { licence: "MIT".into(), amount_wei: OPEN.to_string(), share: 0.25 },
        ];
        d
    }

    /// Asserts that no "NaN" and no float infinity ("inf" as a word) is in `html`.
    fn assert_no_nan_inf(html: &str) {
        assert!(!html.contains("NaN"), "NaN in output");
        let bytes = html.as_bytes();
        for (i, _) in html.match_indices("inf") {
            let before = i.checked_sub(1).map(|j| bytes[j]);
            let after = bytes.get(i + 3).copied();
            let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
            assert!(word(before) || word(after), "`inf` at {i}: {:?}", html.get(i.saturating_sub(40)..i + 10));
        }
    }

    /// Asserts every numeric SVG attribute (and every path number) is a finite number.
    fn assert_finite_svg(html: &str) {
        for attr in [" x=\"", " y=\"", " x1=\"", " x2=\"", " y1=\"", " y2=\"", " width=\"", " height=\""] {
            for (i, _) in html.match_indices(attr) {
                let rest = &html[i + attr.len()..];
                let value = &rest[..rest.find('"').unwrap_or(0)];
                let v: f64 = value.parse().unwrap_or_else(|_| panic!("{attr}{value}"));
                assert!(v.is_finite(), "{attr}{value}");
            }
        }
        for (i, _) in html.match_indices(" d=\"") {
            let rest = &html[i + 4..];
            let d = &rest[..rest.find('"').unwrap_or(0)];
            for tok in d.split(|c: char| c.is_ascii_alphabetic() || c == ' ').filter(|t| !t.is_empty()) {
                let v: f64 = tok.parse().unwrap_or_else(|_| panic!("path number {tok} in {d}"));
                assert!(v.is_finite());
            }
        }
    }

    #[test]
    fn sample_carries_exact_data_attributes() {
        let data = sample();
        let html = render(&data);
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<title>Provenance report: model 0xm0 of 0xowner</title>"));
        assert!(html.trim_end().ends_with("</html>"));

        assert_eq!(html.matches("<tr class=\"query\"").count(), 3);
        for q in &data.queries {
            let row = format!(
                "<tr class=\"query\" data-request-id=\"{}\" data-contributors-wei=\"{}\" data-predicted-class=\"{}\" data-proof-valid=\"{}\">",
                q.request_id, q.contributors_wei, q.predicted_class, q.proof_valid
            );
            assert!(html.contains(&row), "missing {row}");
            for p in &q.payouts {
                let item = format!("data-contributor=\"{}\" data-amount-wei=\"{}\"", p.contributor, p.amount_wei);
                assert!(html.contains(&item), "missing {item}");
            }
        }
        assert!(html.contains(
            "<tr class=\"query\" data-request-id=\"0xaaa1\" data-contributors-wei=\"1000000000000000000\" \
             data-predicted-class=\"7\" data-proof-valid=\"true\">"
        ));
        assert!(html.contains("data-proof-valid=\"false\""));
        // every payout, top 5 or not, is an item; 3 + 7 + 1
        assert_eq!(html.matches("<li class=\"payout\"").count(), 11);
        assert!(html.contains("2 more</summary>"));

        assert_eq!(html.matches("<g class=\"licence\"").count(), 2);
        assert!(html.contains("data-licence=\"CC-BY-4.0\" data-amount-wei=\"3000000000000000000\""));
        assert!(html.contains("data-licence=\"MIT\" data-amount-wei=\"1000000000000000000\""));
        assert!(html.contains("75.00%") && html.contains("25.00%"));

        assert_eq!(html.matches("<tr class=\"slash\"").count(), 1);
        assert!(html.contains(
            "<tr class=\"slash\" data-slash-id=\"0x51\" data-request-id=\"0xaaa3\" data-amount-wei=\"5000000000000000000\">"
        ));

        assert!(html.contains("50.00%")); // 0xc1's share of the first query
        assert!(html.contains("2.000000 OPEN"));
        assert!(html.contains(&utc_time(1_700_000_010)));
        assert!(html.contains("2023-11-14 22:13:30"));
        assert!(html.contains("<svg class=\"chart\""));
        // query 3 has an invalid proof and no findings were recorded: still not "all good"
        assert!(html.contains("1 ANSWER WITHOUT A VALID PROOF"));
        assert_no_nan_inf(&html);
        assert_finite_svg(&html);
    }

    #[test]
    fn banner_follows_findings() {
        let mut data = sample();
        data.queries[2].proof_valid = true;
        let html = render(&data);
        assert!(html.contains("Every payout is backed by a valid proof"));
        assert!(!html.contains("FINDING"));
        data.findings = vec!["claim 0xaaa2 paid without a proof".into(), "second".into()];
        let html = render(&data);
        assert!(html.contains("2 FINDINGS"));
        assert!(html.contains("<li>claim 0xaaa2 paid without a proof</li>"));
        assert!(!html.contains("Every payout is backed by a valid proof"));
    }

    #[test]
    fn hostile_strings_are_escaped() {
        let mut data = sample();
        data.title = "<script>alert('t')</script>".into();
        data.licences[0].licence = "<script>alert(1)</script>".into();
        data.datanets[0].licence = "<script>alert(1)</script>".into();
        data.datanets[0].metadata_uri = "javascript:alert(1)".into();
        let linked = DatanetVersion {
            metadata_uri: "https://example.org/a\"onmouseover=\"alert(1)".into(),
            source: "datanet file".into(),
            ..data.datanets[0].clone()
        };
        data.datanets.push(linked);
        data.slashes[0].fault = "\"><img src=x onerror=alert(1)>".into();
        data.queries[0].payouts[0].contributor = "0xc1\" onclick=\"alert(1)".into();
        data.findings = vec!["<b>bold</b> & 'quoted'".into()];
        data.rpc = "\u{202E}lmth.evil".into();
        let html = render(&data);

        assert!(!html.to_ascii_lowercase().contains("<script"));
        assert!(!html.contains("href=\"javascript"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("\" onclick=\""));
        assert!(!html.contains('\u{202E}'));
        assert!(html.contains("data-licence=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(html.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
        assert!(html.contains("<span class=\"mono\">javascript:alert(1)</span>"));
        assert!(html.contains("href=\"https://example.org/a&quot;onmouseover=&quot;alert(1)\""));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("data-contributor=\"0xc1&quot; onclick=&quot;alert(1)\""));
        assert!(html.contains("<li>&lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39;</li>"));
        assert!(html.contains("<title>&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;</title>"));
    }

    #[test]
    fn empty_data_renders_without_nan_or_inf() {
        let html = render(&empty());
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<title>Provenance report</title>"));
        assert_eq!(html.matches("class=\"nodata\"").count(), 3);
        assert!(!html.contains("<svg"));
        assert!(html.contains("Every payout is backed by a valid proof"));
        assert_no_nan_inf(&html);
    }

    #[test]
    fn degenerate_numbers_stay_finite() {
        let mut data = sample();
        for q in &mut data.queries {
            q.block = u64::MAX;
            q.fee_wei = "not a number".into();
            q.contributors_wei = "-1".into();
        }
        data.queries[0].payouts[0].share = f64::NAN;
        data.queries[0].payouts[1].share = f64::INFINITY;
        data.queries[0].payouts[2].share = -3.0;
        data.queries[1].payouts[0].share = 7.0;
        data.queries[2].payouts[0].amount_wei = u128::MAX.to_string();
        data.queries.push(query("0xempty", 0, 1, true, &[]));
        data.licences[0].share = f64::NAN;
        data.licences[1].share = f64::NEG_INFINITY;
        data.licences[1].amount_wei = "".into();
        data.slashes[0].amount_wei = "1e18".into();
        let html = render(&data);
        assert_no_nan_inf(&html);
        assert_finite_svg(&html);
        assert!(html.contains("no payouts"));
        assert!(html.contains("data-amount-wei=\"1e18\""));

        // zero amounts everywhere: nothing to draw over time
        let mut data = sample();
        for q in &mut data.queries {
            for p in &mut q.payouts {
                p.amount_wei = "0".into();
            }
        }
        let html = render(&data);
        assert!(html.contains("No data: no payouts to contributors."));
        assert_no_nan_inf(&html);
        assert_finite_svg(&html);
    }

    #[test]
    fn no_scripts_and_no_remote_resources() {
        let html = render(&sample());
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"));
        for needle in ["src=", "url(", "<link", "@import", "<iframe", "<object", "<embed", "<img", "xmlns"] {
            assert!(!lower.contains(needle), "found {needle}");
        }
        // the rpc endpoint is shown as text, never as a reference or a link
        assert!(html.contains("<td class=\"mono\">http://127.0.0.1:8545</td>"));
        assert!(!lower.contains("href=\"http"));
        assert!(html.contains("Content-Security-Policy"));
    }

    #[test]
    fn many_queries_and_contributors_are_capped() {
        let mut data = sample();
        let names: Vec<String> = (0..12).map(|i| format!("0xcc{i:02}")).collect();
        data.queries = (0..60u64)
            .map(|b| {
                let amounts: Vec<(&str, u128)> =
                    names.iter().enumerate().map(|(i, n)| (n.as_str(), (i as u128 + 1) * OPEN)).collect();
                query(&format!("0xq{b}"), 100 + b * 3, b % 10, true, &amounts)
            })
            .collect();
        let html = render(&data);
        assert_eq!(html.matches("<g class=\"stack\">").count(), MAX_STACKED);
        assert!(html.contains("Showing the first 50 of 60 queries; 10 left out."));
        assert!(html.contains("The 8 largest of 12 paid contributors are shown."));
        assert_eq!(html.matches("<tr class=\"query\"").count(), 60);
        // the largest contributor tops the legend with its total over 60 queries
        assert!(html.contains("<span class=\"mono\">0xcc11</span> 720.000000 OPEN</li>"));
        assert_no_nan_inf(&html);
        assert_finite_svg(&html);
    }

    #[test]
    fn helpers() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_time(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc_time(4_102_444_799), "2099-12-31 23:59:59");
        assert_eq!(utc_time(253_402_300_799), "9999-12-31 23:59:59");
        let _ = utc_time(u64::MAX);

        assert_eq!(open_amount(0), "0.000000");
        assert_eq!(open_amount(OPEN), "1.000000");
        assert_eq!(open_amount(1_234_567_890_123_456_789), "1.234567");
        assert_eq!(open_amount(999_999_999_999), "0.000000");
        assert_eq!(open_amount(u128::MAX), "340282366920938463463.374607");
        assert_eq!(wei(" 42 "), 42);
        assert_eq!(wei("0x10"), 0);
        assert_eq!(wei("-5"), 0);
        assert_eq!(wei("340282366920938463463374607431768211456"), 0); // u128::MAX + 1

        assert_eq!(escape("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;");
        assert_eq!(escape("a\u{0}b\u{2066}c"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(percent(f64::NAN), "0.00%");
        assert_eq!(percent(2.0), "100.00%");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(short("0x0123456789abcdef"), "0x0123…cdef");
        assert_eq!(short("ééééééééééééééééé"), "éééééé…éééé");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert!((nice_step(0.012) - 0.02).abs() < 1e-12);
        assert_eq!(tick_label(0.25, 0.05), "0.25");
    }
}
