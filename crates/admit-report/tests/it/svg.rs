//! A small, strict reader for the SVG the charts produce: elements, attributes and text, with
//! entities decoded. It panics on anything malformed (an unescaped `<` or `&`, an unclosed
//! tag), which is what the escaping tests rely on.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Element {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    /// Text directly inside the element, decoded and trimmed.
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> &str {
        self.attrs.get(name).map_or("", String::as_str)
    }

    pub fn num(&self, name: &str) -> f64 {
        self.attr(name)
            .parse()
            .unwrap_or_else(|_| panic!("{name} of {self:?} is not a number"))
    }

    /// The points of a polyline.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.attr("points")
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',').expect("x,y");
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }
}

#[derive(Debug)]
pub struct Svg {
    pub elements: Vec<Element>,
}

fn decode(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').expect("an entity ends with ;") + i;
        out.push(match &rest[i + 1..end] {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            other => panic!("unknown entity &{other};"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

pub fn parse(doc: &str) -> Svg {
    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut rest = doc.trim_start();
    if let Some(r) = rest.strip_prefix("<?xml") {
        rest = &r[r.find("?>").expect("xml declaration ends") + 2..];
    }
    loop {
        let lt = rest.find('<');
        let text = &rest[..lt.unwrap_or(rest.len())];
        assert!(
            !text.contains('>'),
            "unescaped > in text {text:?} (legal XML, but plotters escapes it)"
        );
        if !text.trim().is_empty() {
            let (_, index) = open.last().expect("text outside the root element");
            let t = &mut elements[*index].text;
            t.push_str(&decode(text.trim()));
        }
        let Some(lt) = lt else { break };
        rest = &rest[lt + 1..];
        if let Some(r) = rest.strip_prefix('/') {
            let gt = r.find('>').expect("closing tag ends");
            let name = r[..gt].trim();
            let (expected, _) = open.pop().expect("a closing tag closes something");
            assert_eq!(name, expected, "tags are balanced");
            rest = &r[gt + 1..];
            continue;
        }
        let gt = rest.find('>').expect("tag ends");
        let mut inner = &rest[..gt];
        rest = &rest[gt + 1..];
        let self_closing = inner.ends_with('/');
        if self_closing {
            inner = &inner[..inner.len() - 1];
        }
        let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
        let name = inner[..name_end].to_string();
        let mut attrs = BTreeMap::new();
        let mut a = inner[name_end..].trim();
        while !a.is_empty() {
            let eq = a.find("=\"").expect("attribute is name=\"value\"");
            let key = a[..eq].trim().to_string();
            let after = &a[eq + 2..];
            let close = after.find('"').expect("attribute value ends");
            let value = &after[..close];
            assert!(!value.contains('<'), "unescaped < in attribute {key}");
            attrs.insert(key, decode(value));
            a = after[close + 1..].trim();
        }
        elements.push(Element {
            name: name.clone(),
            attrs,
            text: String::new(),
        });
        if !self_closing {
            open.push((name, elements.len() - 1));
        }
    }
    assert!(open.is_empty(), "unclosed tags: {open:?}");
    assert_eq!(elements.first().map(|e| e.name.as_str()), Some("svg"));
    Svg { elements }
}

impl Svg {
    pub fn root(&self) -> &Element {
        &self.elements[0]
    }

    pub fn texts(&self) -> Vec<&str> {
        self.elements
            .iter()
            .filter(|e| e.name == "text")
            .map(|e| e.text.as_str())
            .collect()
    }

    pub fn count_text(&self, text: &str) -> usize {
        self.texts().iter().filter(|t| **t == text).count()
    }

    /// Filled rectangles of one colour ("#1F77B4").
    pub fn rects(&self, fill: &str) -> Vec<&Element> {
        self.elements
            .iter()
            .filter(|e| e.name == "rect" && e.attr("fill") == fill)
            .collect()
    }

    pub fn polylines(&self, stroke: &str) -> Vec<&Element> {
        self.elements
            .iter()
            .filter(|e| e.name == "polyline" && e.attr("stroke") == stroke)
            .collect()
    }

    /// Axis lines: straight black lines longer than 100 px, as (vertical, horizontal).
    pub fn axes(&self) -> (usize, usize) {
        let mut v = 0;
        let mut h = 0;
        for line in self.polylines("#000000") {
            let p = line.points();
            if p.len() != 2 {
                continue;
            }
            let (dx, dy) = ((p[1].0 - p[0].0).abs(), (p[1].1 - p[0].1).abs());
            if dx == 0.0 && dy > 100.0 {
                v += 1;
            }
            if dy == 0.0 && dx > 100.0 {
                h += 1;
            }
        }
        (v, h)
    }
}
