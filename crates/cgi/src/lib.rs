//! cgi
