//! Writing responses to the socket.
