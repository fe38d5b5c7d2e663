/** The dashboard's icon: a small SVG (a terminal prompt on a rounded square), served at /favicon.ico. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0f1419"/><rect x="1.5" y="1.5" width="29" height="29" rx="6" fill="none" stroke="#4aa3ff" stroke-width="2"/><path d="M8 11l6 5-6 5" fill="none" stroke="#3fb950" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/><path d="M16 22h8" stroke="#d7dde4" stroke-width="3" stroke-linecap="round"/></svg>`;

export const FAVICON_TYPE = "image/svg+xml";
