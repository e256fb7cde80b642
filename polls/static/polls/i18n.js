// Loaded right after Django's JavaScript catalogue (jsi18n): when the catalogue could not
// be loaded, the page's scripts still speak, in English, through the same functions.
(function () {
  "use strict";
  window.gettext = window.gettext || function (text) {
    return text;
  };
  window.pgettext = window.pgettext || function (context, text) {
    return text;
  };
  window.ngettext = window.ngettext || function (one, many, count) {
    return count === 1 ? one : many;
  };
  window.interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\((\w+)\)s/g, function (match, name) {
      return String(values[name]);
    });
  };
})();
