package filing

// PDFImages is the most images the PDF transcript shows, for the external
// tests.
const PDFImages = pdfImages
