package io.qspark.job.data;

import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import scala.Tuple2;

/**
 * A table's rows in a given number of partitions that hold consecutive runs of the table's
 * order, in partition order, as {@code sc.parallelize} splits a list. The stages that visit
 * images by their place in the data (AdaRound's step windows and keep check, by the partitions'
 * sizes) rest on it; {@code Dataset.repartition} deals rows round-robin and {@code coalesce}
 * groups splits by host, so with either the same image had a different place for another
 * partition count (AdaRoundSparkTest, two Parquet columns, 1 against 3 partitions). Spark's own
 * splits are already runs of the file order and stay as they are; otherwise each row is numbered
 * ({@code zipWithIndex}), sent to partition index * P / n and sorted back into order there (one
 * shuffle, as repartition's).
 */
final class OrderedSplit {
  private OrderedSplit() {}

  /** @param count the table's rows (n); partitions stay balanced only if it is right, ordered in any case */
  static JavaRDD<Row> of(Dataset<Row> rows, long count, int partitions) {
    JavaRDD<Row> r = rows.javaRDD();
    if (r.getNumPartitions() == partitions) return r;
    Runs runs = new Runs(partitions, Math.max(1, count));
    return r.zipWithIndex().mapToPair(t -> new Tuple2<>(t._2(), t._1())).repartitionAndSortWithinPartitions(runs).values();
  }

  /** Row index i to partition i * P / n (clamped): consecutive runs, in order. */
  static final class Runs extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int parts;
    private final long rows;

    Runs(int parts, long rows) {
      this.parts = parts;
      this.rows = rows;
    }

    @Override
    public int numPartitions() {
      return parts;
    }

    @Override
    public int getPartition(Object key) {
      long i = (Long) key;
      return (int) Math.min(parts - 1, Math.max(0, i * parts / rows));
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Runs x && x.parts == parts && x.rows == rows;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(rows * 31 + parts);
    }
  }
}
