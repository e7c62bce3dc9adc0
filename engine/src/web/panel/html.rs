//! The pages' HTML: one layout (readable on a phone, no script, no external file), and the
//! few pieces every page is made of. Every text that comes from data goes through
//! [`escape`].

use std::fmt::Write;

/// `text` safe inside an element or a quoted attribute.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;\
padding:1rem;line-height:1.4;color:#222}nav a{margin-right:1rem}table{border-collapse:\
collapse;width:100%;margin:1rem 0}td,th{border-bottom:1px solid #ddd;padding:.4rem;\
text-align:left;vertical-align:top}form.inline{display:inline}input,select,button{\
font:inherit;padding:.3rem;margin:.2rem 0}.note{background:#e8f5e9;padding:.5rem}\
.error{background:#fdecea;padding:.5rem}@media(max-width:40rem){td,th{display:block}}";

/// A whole page: `nav` links (path, name) above `body`, whose HTML the caller made.
pub(super) fn page(title: &str, nav: &[(&str, &str)], body: &str) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{} · Postern</title>", escape(title));
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    if !nav.is_empty() {
        out.push_str("<nav>");
        for (path, name) in nav {
            let _ = write!(out, "<a href=\"{}\">{}</a>", escape(path), escape(name));
        }
        out.push_str("</nav>\n");
    }
    let _ = writeln!(out, "<h1>{}</h1>", escape(title));
    out.push_str(body);
    if !body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The result of the last form, from the query (`?note=` or `?error=`).
pub(super) fn flash(note: Option<&str>, error: Option<&str>) -> String {
    match (note, error) {
        (_, Some(error)) => format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(error)),
        (Some(note), None) => format!("<p class=\"note\" role=\"status\">{}</p>\n", escape(note)),
        (None, None) => String::new(),
    }
}

/// A form POSTing to `action` with the session's `csrf` token; `fields` is its HTML.
pub(super) fn form(action: &str, csrf: &str, fields: &str, button: &str, inline: bool) -> String {
    let class = if inline { " class=\"inline\"" } else { "" };
    format!(
        "<form method=\"post\" action=\"{}\"{class}><input type=\"hidden\" name=\"csrf\" value=\"{}\">{fields}<button type=\"submit\">{}</button></form>\n",
        escape(action),
        escape(csrf),
        escape(button)
    )
}

/// A hidden field.
pub(super) fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// A labelled input.
pub(super) fn input(label: &str, name: &str, kind: &str, required: bool) -> String {
    let required = if required { " required" } else { "" };
    format!(
        "<label>{} <input type=\"{}\" name=\"{}\"{required}></label> ",
        escape(label),
        escape(kind),
        escape(name)
    )
}

/// A table: `head` names the columns; each cell of `rows` is HTML already.
pub(super) fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "<p>None yet.</p>\n".to_string();
    }
    let mut out = String::from("<table>\n<thead><tr>");
    for name in head {
        let _ = write!(out, "<th>{}</th>", escape(name));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_become_markup() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        let html = page("<b>", &[("/a\"", "<i>")], "");
        assert!(!html.contains("<b>") && !html.contains("<i>") && !html.contains("a\""));
        let form = form("/x", "t\"oken", "", "Go", false);
        assert!(form.contains("value=\"t&quot;oken\""));
    }
}
