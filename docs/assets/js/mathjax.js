// MathJax 3 (vendored, docs/assets/vendor/mathjax) for Material's instant navigation.
//
// * MathJax never typesets on its own (startup.typeset: false): every typeset runs from
//   Material's document$ stream, once per page view, after the previous one finished.
//   Letting MathJax's own first pass race the document$ hook left math blank.
// * Only these roots are typeset:
//     .arithmatex          Markdown pages and API docstrings (pymdownx.arithmatex, generic)
//     .jp-MarkdownOutput   notebook markdown cells ($...$ kept as text by nbconvert)
//     .jp-RenderedLatex    notebook text/latex outputs
//   so a stray "$" elsewhere on a page is never read as math.
// * The context menu is off: its accessibility entries would load components that are
//   not vendored.
// * window.litnetMath.done is a promise for the current page's typeset (used by tests).
(function () {
  "use strict";
  var markReady;
  var ready = new Promise(function (resolve) { markReady = resolve; });

  window.MathJax = {
    tex: {
      inlineMath: [["\\(", "\\)"], ["$", "$"]],
      displayMath: [["\\[", "\\]"], ["$$", "$$"]],
      processEscapes: true,
      processEnvironments: true,
    },
    options: {
      enableMenu: false,
      ignoreHtmlClass: "tex2jax_ignore",
      processHtmlClass: "tex2jax_process",
    },
    startup: {
      typeset: false,
      ready: function () {
        window.MathJax.startup.defaultReady();
        window.MathJax.startup.promise.then(markReady);
      },
    },
  };

  var ROOTS = ".arithmatex, .jp-MarkdownOutput, .jp-RenderedLatex";

  function typesetPage() {
    var MJ = window.MathJax;
    MJ.startup.output.clearCache();
    MJ.typesetClear();
    MJ.texReset();
    var roots = Array.prototype.slice.call(document.querySelectorAll(ROOTS));
    return roots.length ? MJ.typesetPromise(roots) : Promise.resolve();
  }

  var chain = ready;
  window.litnetMath = { done: chain };
  document$.subscribe(function () {
    chain = chain.then(typesetPage).catch(function (err) {
      console.error("MathJax typeset failed:", err);
    });
    window.litnetMath.done = chain;
  });
})();
