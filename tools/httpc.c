/* Blocking HTTP/1.1 client (being written). */
int httpc_placeholder;
