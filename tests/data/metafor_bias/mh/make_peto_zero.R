# Reference outputs of rma.peto() and rma.mh() on 2x2 tables with zero cells, for
# tests/evidence/test_meta_reference.py::test_analysis_example_yusuf1985 and
# ::test_analysis_example_nielweise2007.
# Run from this folder:  Rscript make_peto_zero.R   (Debian: r-base-core r-cran-metafor).
#
# Data: dat.yusuf1985 (metadat), table 6 of Yusuf et al. (1985), Prog Cardiovasc Dis 27:335-371,
# the paper that describes Peto's one-step method; the analysis is the one in the data set's help
# page: rma.peto(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat, subset=(table=="6")). Of its 22 rows,
# one (Snow 1) has no counts (left out: k = 21), three have no deaths in either arm (Pitt, Hutton,
# Yusuf: no yi, so Q has k.yi - 1 = 17 df) and one has a single zero cell (Gupta).
# dat.nielweise2007 (Niel-Weise et al. 2007, Intensive Care Med 33:2058-2068; 18 trials, one with
# no events in either arm (Yucel: k.yi = 17), five more with a zero cell) has heterogeneity
# (I2 > 0), so I2 is checked too.
# Writes NAME.csv (the input, meta CLI column convention) and NAME__or_peto.json /
# NAME__or_mh.json for NAME = yusuf1985_tab6, nielweise2007, in the format of ../../metafor
# (args, expected under the CLI contract's key names, csv), plus the R and metafor versions and
# metafor's own tau2 (0; the CLI contract reports none for PETO/MH).
suppressMessages(library(metafor))
num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }
# minimal JSON writer (no jsonlite on a bare Debian R), as in ../make_reference.R
jsonlite_free <- function(x) {
  enc <- function(v) {
    if (is.null(v)) return("null")
    if (is.list(v)) {
      nm <- names(v)
      parts <- vapply(seq_along(v), function(i) paste0('"', nm[i], '": ', enc(v[[i]])), "")
      return(paste0("{", paste(parts, collapse = ", "), "}"))
    }
    one <- function(e) {
      if (is.na(e)) return("null")
      if (is.logical(e)) return(if (e) "true" else "false")
      if (is.character(e)) return(paste0('"', e, '"'))
      formatC(e, digits = 17, format = "g")
    }
    s <- vapply(v, one, "")
    if (length(v) == 1 && is.null(attr(v, "aslist"))) s else paste0("[", paste(s, collapse = ", "), "]")
  }
  enc(x)
}
versions <- list(R = paste(R.version$major, R.version$minor, sep = "."),
                 metafor = packageDescription("metafor")$Version,
                 metadat = packageDescription("metadat")$Version)
dump_fit <- function(res, name, csv, case, method) {
  out <- list(name = paste0(name, "__", case), csv = csv,
              args = c("--measure", "OR", "--method", method, "--test", "z"),
              expected = list(k = res$k, estimate = num(res$beta), se = num(res$se),
                              zval = num(res$zval), pval = num(res$pval),
                              ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
                              Q = num(res$QE), Q_df = res$k.yi - 1L, Q_pval = num(res$QEp),
                              I2 = num(res$I2), H2 = num(res$H2)),
              metafor = list(tau2 = num(res$tau2), k_yi = res$k.yi,
                             k_pos = if (is.null(res$k.pos)) NULL else res$k.pos),
              versions = versions)
  writeLines(jsonlite_free(out), paste0(name, "__", case, ".json"))
}
dump_case <- function(name, dat, study) {
  csv <- paste0(name, ".csv")
  d <- data.frame(study = study, ai = dat$ai, n1i = dat$n1i, ci = dat$ci, n2i = dat$n2i)
  write.csv(d, csv, row.names = FALSE)
  d <- read.csv(csv, stringsAsFactors = FALSE) # fit what the tests read
  # defaults: add = 1/2, to = "only0", drop00 = TRUE for the yi/vi (escalc), none for the tables
  peto <- suppressWarnings(rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d))
  dump_fit(peto, name, csv, "or_peto", "PETO")
  mh <- suppressWarnings(rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d, measure = "OR"))
  dump_fit(mh, name, csv, "or_mh", "MH")
}
y <- dat.yusuf1985[dat.yusuf1985$table == "6", ]
dump_case("yusuf1985_tab6", y, paste(y$id, y$trial))
n <- dat.nielweise2007
dump_case("nielweise2007", n, paste(n$author, n$year))
