//! A tiny XML element tree and writer for export (attributes in insertion order,
//! two-space indentation, escaping that survives attribute-value normalisation).

#[derive(Debug, Clone, Default)]
pub(crate) struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<El>,
    /// Already-rendered XML written verbatim instead of this element (cached fragments).
    pub raw: Option<std::sync::Arc<str>>,
}

impl El {
    pub fn new(name: &str) -> Self {
        El {
            name: name.to_string(),
            ..Default::default()
        }
    }
    /// Adds an attribute.
    pub fn a(mut self, k: &str, v: impl Into<String>) -> Self {
        self.attrs.push((k.to_string(), v.into()));
        self
    }
    /// Adds an attribute when present.
    pub fn o(mut self, k: &str, v: Option<impl Into<String>>) -> Self {
        if let Some(v) = v {
            self.attrs.push((k.to_string(), v.into()));
        }
        self
    }
    pub fn child(mut self, c: El) -> Self {
        self.children.push(c);
        self
    }
    pub fn push(&mut self, c: El) {
        self.children.push(c);
    }
    pub fn extend(&mut self, cs: impl IntoIterator<Item = El>) {
        self.children.extend(cs);
    }

    /// An element that is already rendered (e.g. a cached `<node_state>`).
    pub fn raw(xml: std::sync::Arc<str>) -> Self {
        El {
            raw: Some(xml),
            ..Default::default()
        }
    }

    pub fn write(&self, out: &mut String, depth: usize) {
        if let Some(r) = &self.raw {
            out.push_str(r);
            return;
        }
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_into(out, v);
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>\n");
            return;
        }
        out.push_str(">\n");
        for c in &self.children {
            c.write(out, depth + 1);
        }
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push_str(">\n");
    }
}

fn escape_into(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Literal whitespace other than space is normalised away in attribute values.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}
