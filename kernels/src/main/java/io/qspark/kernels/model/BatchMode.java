package io.qspark.kernels.model;

/**
 * How a model takes its batch: exported with a dynamic batch; exported with a fixed batch of
 * {@code size} that qspark freed (the leading dimension treated as the batch, Reshape targets
 * that carried it rewritten); or exported with a fixed batch its graph does not let be freed
 * (its ops mix the images), run in chunks of {@code size}; or, for models whose inputs declare
 * different fixed leading dimensions, fixed as exported.
 */
public record BatchMode(Kind kind, int size) {
  public enum Kind { DYNAMIC, FREED, CHUNKED, FIXED }

  public static final BatchMode DYNAMIC = new BatchMode(Kind.DYNAMIC, 0);

  /** One line for inspect and reports. */
  public String describe() {
    switch (kind) {
      case DYNAMIC: return "dynamic (any batch)";
      case FREED: return "exported as " + size + ", runs any batch (the fixed leading dimension is treated as the batch)";
      case CHUNKED: return "exported as " + size + ", runs in chunks of " + size
          + " (the graph mixes the images of its batch, so it cannot be freed): batches must be multiples of " + size;
      default: return "fixed as exported (the inputs' leading dimensions differ)";
    }
  }

  /** The key in JSON output. */
  public String key() {
    return kind.name().toLowerCase(java.util.Locale.ROOT);
  }
}
