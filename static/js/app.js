/* D-Tech page script (progressive enhancement only; every page works without it). */
