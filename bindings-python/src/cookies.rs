//! `first_party_cookies`: the first-party `_fbp` / `_fbc` cookies of one request
//! (the core's `build::cookies`), as a dict.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use convtrack_core::build::cookies::{self, CookieRequest};

use crate::errors::to_py_err;

/// `{"fbp", "fbc", "cookies": [{"name", "value", "max_age", "domain", "path",
/// "same_site", "http_only"}]}`; `now_ms` and `random` default to the clock and the OS.
#[pyfunction]
#[pyo3(signature = (*, fbp=None, fbc=None, url=None, fbclid=None, host=None, domain=None, now_ms=None, random=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn first_party_cookies<'py>(
    py: Python<'py>,
    fbp: Option<&str>,
    fbc: Option<&str>,
    url: Option<&str>,
    fbclid: Option<&str>,
    host: Option<&str>,
    domain: Option<&str>,
    now_ms: Option<i64>,
    random: Option<u32>,
) -> PyResult<Bound<'py, PyDict>> {
    let now_ms = now_ms.unwrap_or_else(convtrack_core::clock::now_ms);
    let random = random.unwrap_or_else(cookies::os_random);
    let request = CookieRequest { fbp, fbc, url, fbclid, host, domain, now_ms, random };
    let answer = cookies::first_party_cookies(&request).map_err(|e| to_py_err(py, &e))?;
    let list = PyList::empty(py);
    for c in &answer.set {
        let d = PyDict::new(py);
        d.set_item("name", c.name)?;
        d.set_item("value", &c.value)?;
        d.set_item("max_age", c.max_age)?;
        d.set_item("domain", c.domain.as_deref())?;
        d.set_item("path", cookies::COOKIE_PATH)?;
        d.set_item("same_site", cookies::SAME_SITE)?;
        d.set_item("http_only", false)?;
        list.append(d)?;
    }
    let out = PyDict::new(py);
    out.set_item("fbp", &answer.fbp)?;
    out.set_item("fbc", answer.fbc.as_deref())?;
    out.set_item("cookies", list)?;
    Ok(out)
}
