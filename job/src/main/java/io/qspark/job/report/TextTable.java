package io.qspark.job.report;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A plain-text table with aligned columns; numbers right-aligned so magnitudes line up. */
public final class TextTable {
  private final String[] headers;
  private final boolean[] right;
  private final List<String[]> rows = new ArrayList<>();

  /** A header ending in '>' marks a right-aligned column (the '>' is not printed). */
  public TextTable(String... headers) {
    this.headers = new String[headers.length];
    this.right = new boolean[headers.length];
    for (int i = 0; i < headers.length; i++) {
      right[i] = headers[i].endsWith(">");
      this.headers[i] = right[i] ? headers[i].substring(0, headers[i].length() - 1) : headers[i];
    }
  }

  public TextTable row(Object... cells) {
    if (cells.length != headers.length) {
      throw new IllegalArgumentException(cells.length + " cells for " + headers.length + " columns");
    }
    String[] r = new String[cells.length];
    for (int i = 0; i < r.length; i++) r[i] = String.valueOf(cells[i]);
    rows.add(r);
    return this;
  }

  public void print(PrintWriter out) {
    int[] w = new int[headers.length];
    for (int i = 0; i < w.length; i++) w[i] = headers[i].length();
    for (String[] r : rows) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], r[i].length());
    line(out, headers, w);
    for (String[] r : rows) line(out, r, w);
  }

  private void line(PrintWriter out, String[] cells, int[] w) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < cells.length; i++) {
      if (i > 0) b.append("  ");
      String pad = " ".repeat(w[i] - cells[i].length());
      b.append(right[i] ? pad + cells[i] : cells[i] + (i < cells.length - 1 ? pad : ""));
    }
    out.println(b.toString().stripTrailing());
  }

  /** Two columns of label and value, for report headers. */
  public static void keyValues(PrintWriter out, String[][] pairs) {
    int w = Arrays.stream(pairs).mapToInt(p -> p[0].length()).max().orElse(0);
    for (String[] p : pairs) out.println(p[0] + " ".repeat(w - p[0].length() + 2) + p[1]);
  }
}
