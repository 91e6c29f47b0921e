//! The client side: parsing a response head and deciding how its body is framed.
