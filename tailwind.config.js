/** @type {import('tailwindcss').Config} */
const defaultTheme = require("tailwindcss/defaultTheme");

module.exports = {
  content: ["./app/templates/**/*.html", "./app/static/js/**/*.js", "./app/**/*.py"],
  // Follow the operating system / browser colour-scheme setting.
  darkMode: "media",
  theme: {
    extend: {
      colors: {
        // Indigo leaning towards violet: the Messanger brand colour.
        brand: {
          50: "#eef2ff",
          100: "#e0e7ff",
          200: "#c7d2fe",
          300: "#a5b4fc",
          400: "#818cf8",
          // Darker than indigo-500 (#6366f1, 4.46:1) so white text on it passes WCAG AA (4.7:1).
          500: "#5e61f1",
          600: "#4f46e5",
          700: "#4338ca",
          800: "#3730a3",
          900: "#312e81",
          950: "#1e1b4b",
        },
        // Teal accent, used sparingly (feature icons, success-ish highlights).
        accent: {
          50: "#f0fdfa",
          100: "#ccfbf1",
          200: "#99f6e4",
          300: "#5eead4",
          400: "#2dd4bf",
          500: "#14b8a6",
          600: "#0d9488",
          700: "#0f766e",
          800: "#115e59",
          900: "#134e4a",
          950: "#042f2e",
        },
      },
      fontFamily: {
        // System font stack only: no web fonts, no external hosts.
        sans: defaultTheme.fontFamily.sans,
      },
    },
  },
  plugins: [require("@tailwindcss/forms")],
};
