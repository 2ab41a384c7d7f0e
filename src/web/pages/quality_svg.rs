//! Line charts as SVG written by hand, for the quality page: no script, no style element
//! (the page's Content-Security-Policy allows neither inline), every text escaped here.
//! Accessible: `role="img"` named by its `<title>` and described by its `<desc>`; series
//! differ by line dash and marker shape as well as colour and are labelled in a legend,
//! and the page shows every plotted number again in a table.

use std::fmt::Write;

/// Escapes text for SVG element content and double-quoted attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart over `x_range` × `y_range`.
pub struct Chart {
    /// Unique on the page: names the title and description elements.
    pub id: &'static str,
    pub title: String,
    pub desc: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub x_ticks: Vec<(f64, String)>,
    pub y_ticks: Vec<(f64, String)>,
    pub series: Vec<Series>,
    /// A dotted reference line from the lower left to the upper right corner (perfect
    /// calibration), with its legend text.
    pub diagonal: Option<String>,
    /// A vertical marker at this x with its label (the chosen threshold).
    pub marker: Option<(f64, String)>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 56.0;

/// Line colours (contrast ≥ 3:1 on white), dashes and markers, cycled per series.
const COLOURS: [&str; 6] = [
    "#004b87", "#a4161a", "#1d6b32", "#6a3d9a", "#8a4b00", "#1b1f24",
];
const DASHES: [&str; 6] = ["", "8 4", "2 3", "10 3 2 3", "4 4", "1 6"];

fn marker(kind: usize, x: f64, y: f64, colour: &str) -> String {
    match kind % 4 {
        0 => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{colour}"/>"#),
        1 => format!(
            r#"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{colour}"/>"#,
            x - 4.0,
            y - 4.0
        ),
        2 => format!(
            r#"<path d="M{x:.1} {:.1} L{:.1} {:.1} L{:.1} {:.1} Z" fill="{colour}"/>"#,
            y - 5.0,
            x + 5.0,
            y + 4.0,
            x - 5.0,
            y + 4.0
        ),
        _ => format!(
            r#"<path d="M{x:.1} {:.1} L{:.1} {y:.1} L{x:.1} {:.1} L{:.1} {y:.1} Z" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            y - 5.0,
            x + 5.0,
            y + 5.0,
            x - 5.0
        ),
    }
}

impl Chart {
    fn sx(&self, x: f64) -> f64 {
        let (a, b) = self.x_range;
        let span = if b > a { b - a } else { 1.0 };
        LEFT + (x - a) / span * (WIDTH - LEFT - RIGHT)
    }

    fn sy(&self, y: f64) -> f64 {
        let (a, b) = self.y_range;
        let span = if b > a { b - a } else { 1.0 };
        HEIGHT - BOTTOM - (y - a) / span * (HEIGHT - TOP - BOTTOM)
    }

    /// The chart as an SVG element, followed by its legend as a list.
    pub fn render(&self) -> String {
        let mut s = String::from(r#"<figure class="chart">"#);
        s += &self.plot("");
        s += r#"<figcaption><ul class="legend">"#;
        for (k, series) in self.series.iter().enumerate() {
            let (colour, dash) = style(k);
            let _ = write!(
                s,
                r#"<li><svg class="key" viewBox="0 0 40 12" aria-hidden="true" focusable="false"><line x1="2" y1="6" x2="38" y2="6" stroke="{colour}" stroke-width="2.5"{dash}/>{}</svg> {}</li>"#,
                marker(k, 20.0, 6.0, colour),
                esc(&series.name)
            );
        }
        if let Some(label) = &self.diagonal {
            let _ = write!(
                s,
                r##"<li><svg class="key" viewBox="0 0 40 12" aria-hidden="true" focusable="false"><line x1="2" y1="6" x2="38" y2="6" stroke="#4a5560" stroke-width="1.5" stroke-dasharray="1 4"/></svg> {}</li>"##,
                esc(label)
            );
        }
        if let Some((_, label)) = &self.marker {
            let _ = write!(
                s,
                r##"<li><svg class="key" viewBox="0 0 40 12" aria-hidden="true" focusable="false"><line x1="20" y1="0" x2="20" y2="12" stroke="#1b1f24" stroke-width="2" stroke-dasharray="6 3"/></svg> {}</li>"##,
                esc(label)
            );
        }
        s += "</ul></figcaption></figure>";
        s
    }

    /// The chart as an SVG document of its own (for a file), with the series' legend
    /// drawn below the plot.
    pub fn standalone(&self) -> String {
        const ROW: f64 = 20.0;
        let height = HEIGHT + 8.0 + ROW * self.series.len() as f64;
        let mut s = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\"><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>"
        );
        s += &self.plot(&format!(
            r#" x="0" y="0" width="{WIDTH}" height="{HEIGHT}""#
        ));
        for (k, series) in self.series.iter().enumerate() {
            let (colour, dash) = style(k);
            let y = HEIGHT + 8.0 + ROW * k as f64 + ROW / 2.0;
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2.5"{dash}/>{}<text x="{:.1}" y="{:.1}" font-size="13" fill="#1b1f24">{}</text>"##,
                LEFT + 36.0,
                marker(k, LEFT + 18.0, y, colour),
                LEFT + 46.0,
                y + 4.5,
                esc(&series.name)
            );
        }
        s += "</svg>\n";
        s
    }

    /// The plot itself: an `<svg>` element with `attributes` added to its start tag.
    fn plot(&self, attributes: &str) -> String {
        let id = self.id;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg"{attributes} viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" focusable="false"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
            esc(&self.title),
            esc(&self.desc)
        );
        let (x0, x1) = (self.sx(self.x_range.0), self.sx(self.x_range.1));
        let (y0, y1) = (self.sy(self.y_range.0), self.sy(self.y_range.1));
        for (v, label) in &self.y_ticks {
            let y = self.sy(*v);
            let _ = write!(
                s,
                r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="#d0d5da" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12" fill="#1b1f24">{}</text>"##,
                x0 - 6.0,
                y + 4.0,
                esc(label)
            );
        }
        for (v, label) in &self.x_ticks {
            let x = self.sx(*v);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{:.1}" stroke="#4a5560" stroke-width="1"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#1b1f24">{}</text>"##,
                y0 + 5.0,
                y0 + 18.0,
                esc(label)
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y0:.1}" stroke="#4a5560" stroke-width="1.5"/><line x1="{x0:.1}" y1="{y0:.1}" x2="{x0:.1}" y2="{y1:.1}" stroke="#4a5560" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="#1b1f24">{}</text><text x="14" y="{:.1}" text-anchor="middle" font-size="13" fill="#1b1f24" transform="rotate(-90 14 {:.1})">{}</text>"##,
            (x0 + x1) / 2.0,
            HEIGHT - 12.0,
            esc(&self.x_label),
            (y0 + y1) / 2.0,
            (y0 + y1) / 2.0,
            esc(&self.y_label)
        );
        if self.diagonal.is_some() {
            let _ = write!(
                s,
                r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}" stroke="#4a5560" stroke-width="1.5" stroke-dasharray="1 4"/>"##
            );
        }
        if let Some((x, label)) = &self.marker {
            let x = self.sx(*x);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}" stroke="#1b1f24" stroke-width="2" stroke-dasharray="6 3"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#1b1f24">{}</text>"##,
                x + 4.0,
                y1 + 12.0,
                esc(label)
            );
        }
        for (k, series) in self.series.iter().enumerate() {
            let (colour, dash) = style(k);
            let path: Vec<String> = series
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", self.sx(x), self.sy(y)))
                .collect();
            let _ = write!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>"#,
                path.join(" ")
            );
            for &(x, y) in &series.points {
                s += &marker(k, self.sx(x), self.sy(y), colour);
            }
        }
        s += "</svg>";
        s
    }
}

/// A series' colour and its dash attribute (empty for a solid line).
fn style(k: usize) -> (&'static str, String) {
    let dash = DASHES[k % DASHES.len()];
    let dash = if dash.is_empty() {
        String::new()
    } else {
        format!(r#" stroke-dasharray="{dash}""#)
    };
    (COLOURS[k % COLOURS.len()], dash)
}

/// Ticks at 0, 25, 50, 75 and 100 % of a unit range.
pub fn percent_ticks() -> Vec<(f64, String)> {
    (0..=4)
        .map(|i| (i as f64 / 4.0, format!("{} %", i * 25)))
        .collect()
}

/// Five whole-number ticks from 0 to at least `max`; the last is the axis' end.
pub fn count_ticks(max: f64) -> Vec<(f64, String)> {
    let step = (max / 4.0).ceil().max(1.0);
    (0..=4)
        .map(|i| i as f64 * step)
        .map(|v| (v, format!("{v:.0}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_a_catalogue_cannot_become_markup() {
        let chart = Chart {
            id: "t",
            title: "<script>alert(1)</script>".into(),
            desc: "\" onmouseover=\"x".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_range: (0.0, 1.0),
            y_range: (0.0, 1.0),
            x_ticks: percent_ticks(),
            y_ticks: percent_ticks(),
            series: vec![Series {
                name: "<b>Amt</b>".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
            }],
            diagonal: Some("ideal".into()),
            marker: Some((0.5, "Schwelle".into())),
        };
        let svg = chart.render();
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;") && svg.contains("&quot; onmouseover"));
        assert!(svg.contains(r#"role="img""#) && svg.contains("<title id=\"t-title\">"));
        assert!(svg.contains("<polyline"));
        let doc = chart.standalone();
        assert!(doc.starts_with("<?xml") && doc.contains("&lt;b&gt;Amt&lt;/b&gt;"));
        assert!(!doc.contains("<b>") && !doc.contains("<figure"), "{doc}");
        let mut reader = quick_xml::Reader::from_str(&doc);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not well-formed XML: {e}\n{doc}"),
            }
        }
    }

    #[test]
    fn count_ticks_cover_the_maximum() {
        let ticks = count_ticks(10.0);
        assert_eq!(ticks.first().unwrap().0, 0.0);
        assert!(ticks.last().unwrap().0 >= 10.0);
        assert_eq!(count_ticks(0.0).last().unwrap().0, 4.0);
    }
}
