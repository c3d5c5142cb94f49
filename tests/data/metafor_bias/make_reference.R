# Reference outputs of metafor's bias and sensitivity functions for tests/evidence/test_bias.py.
# Run from this folder:  Rscript make_reference.R   (Debian: r-base-core r-cran-metafor).
# Inputs are the CSV files in ../metafor (metafor's own example data sets, see its README).
suppressMessages(library(metafor))
ctrl <- list(threshold = 1e-12, maxiter = 10000)
num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }
dump_case <- function(name, csv, measure, method, test, dat_fun = NULL, mods = NULL) {
  d <- read.csv(file.path("..", "metafor", csv), stringsAsFactors = FALSE)
  es <- if (measure == "GEN") escalc(measure = "GEN", yi = d$yi, vi = d$vi)
        else if (measure %in% c("RR", "OR", "RD")) escalc(measure, ai = d$ai, bi = d$bi, ci = d$ci, di = d$di)
        else if (measure %in% c("SMD", "MD", "ROM")) escalc(measure, m1i = d$m1i, sd1i = d$sd1i, n1i = d$n1i, m2i = d$m2i, sd2i = d$sd2i, n2i = d$n2i)
        else if (measure %in% c("ZCOR", "COR")) escalc(measure, ri = d$ri, ni = d$ni)
  out <- list(name = name, csv = csv, measure = measure, method = method, test = test)
  fit <- rma(es$yi, es$vi, method = method, test = test, control = ctrl)
  rt <- regtest(fit)
  out$regtest <- list(stat = num(rt$zval), pval = num(rt$pval), df = if (is.null(rt$ddf) || is.na(rt$ddf)) NULL else num(rt$ddf),
                      est = num(rt$est), ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub))
  rk <- ranktest(fit)
  out$ranktest <- list(tau = num(rk$tau), pval = num(rk$pval))
  tf <- trimfill(fit)
  out$trimfill <- list(k0 = tf$k0, side = tf$side, se_k0 = num(tf$se.k0), estimate = num(tf$beta), se = num(tf$se),
                       ci_lb = num(tf$ci.lb), ci_ub = num(tf$ci.ub), tau2 = num(tf$tau2), k = tf$k,
                       yi = num(tf$yi), vi = num(tf$vi))
  l1 <- leave1out(fit)
  out$leave1out <- list(estimate = num(l1$estimate), se = num(l1$se), stat = num(l1[[3]]), pval = num(l1$pval),
                        ci_lb = num(l1$ci.lb), ci_ub = num(l1$ci.ub), Q = num(l1$Q), Qp = num(l1$Qp),
                        tau2 = num(l1$tau2), I2 = num(l1$I2), H2 = num(l1$H2))
  cu <- cumul(fit)
  out$cumulative <- list(estimate = num(cu$estimate), se = num(cu$se), stat = num(cu[[3]]), pval = num(cu$pvals),
                         ci_lb = num(cu$ci.lb), ci_ub = num(cu$ci.ub), Q = num(cu$Q), Qp = num(cu$Qp),
                         tau2 = num(cu$tau2), I2 = num(cu$I2), H2 = num(cu$H2))
  inf <- influence(fit)
  out$influence <- list(rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
                        cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), QE_del = num(inf$inf$QE.del),
                        hat = num(inf$inf$hat), weight = num(inf$inf$weight), dfbetas = num(inf$dfbs[[1]]),
                        is_infl = as.logical(inf$is.infl))
  fs <- fsn(es$yi, es$vi)
  out$fsn <- list(fsnum = num(fs$fsnum), pval = num(fs$pval), alpha = fs$alpha)
  if (!is.null(mods)) {
    X <- as.matrix(d[, mods, drop = FALSE])
    fm <- rma(es$yi, es$vi, mods = X, method = method, test = test, control = ctrl)
    im <- influence(fm)
    out$influence_mods <- list(mods = mods, rstudent = num(im$inf$rstudent), dffits = num(im$inf$dffits),
                               cook_d = num(im$inf$cook.d), cov_r = num(im$inf$cov.r), hat = num(im$inf$hat),
                               tau2_del = num(im$inf$tau2.del))
    rm <- regtest(fm)
    out$regtest_mods <- list(mods = mods, stat = num(rm$zval), pval = num(rm$pval))
  }
  writeLines(jsonlite_free(out), paste0(name, ".json"))
}
# minimal JSON writer (no jsonlite on a bare Debian R)
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
dump_case("bcg__rr_reml", "bcg.csv", "RR", "REML", "z", mods = c("ablat"))
dump_case("bcg__or_dl_knha", "bcg.csv", "OR", "DL", "knha")
dump_case("normand1999__smd_reml", "normand1999.csv", "SMD", "REML", "z")
dump_case("molloy2014__zcor_fe", "molloy2014.csv", "ZCOR", "FE", "z")
dump_case("raudenbush1985__gen_reml", "raudenbush1985.csv", "GEN", "REML", "z", mods = c("weeks"))
# Mantel-Haenszel model: regtest/ranktest refit the study estimates as an equal-effects model
d <- read.csv(file.path("..", "metafor", "bcg.csv"))
m <- rma.mh(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di, measure = "OR")
rt <- regtest(m); rk <- ranktest(m)
dir.create("mh", showWarnings = FALSE)
writeLines(jsonlite_free(list(name = "bcg__or_mh", csv = "bcg.csv", measure = "OR", method = "MH",
                              regtest = list(stat = num(rt$zval), pval = num(rt$pval)),
                              ranktest = list(tau = num(rk$tau), pval = num(rk$pval)))),
           file.path("mh", "bcg__or_mh.json"))
