//! A tiny XML element tree and writer for export (attributes in insertion order,
//! two-space indentation, escaping that survives attribute-value normalisation).

#[derive(Debug, Clone, Default)]
pub(crate) struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<El>,
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

    pub fn write(&self, out: &mut String, depth: usize) {
        if self.children.is_empty() {
            self.write_tag(out, depth, "/>\n");
            return;
        }
        self.write_open(out, depth);
        for c in &self.children {
            c.write(out, depth + 1);
        }
        self.write_close(out, depth);
    }

    /// The start tag alone (children are written by the caller).
    pub fn write_open(&self, out: &mut String, depth: usize) {
        self.write_tag(out, depth, ">\n");
    }

    pub fn write_close(&self, out: &mut String, depth: usize) {
        for _ in 0..depth {
            out.push_str("  ");
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push_str(">\n");
    }

    fn write_tag(&self, out: &mut String, depth: usize, end: &str) {
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
        out.push_str(end);
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
