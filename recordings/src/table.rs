//! A table in HDF5: a group of 1-D extendible columns of the same length, appended a row at
//! a time. The metric time series, the lock changes and the windows are tables; each column
//! names its unit and meaning (docs/recording-schema.md).

use std::path::{Path, PathBuf};

use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, Extent, Group, H5Type};

use crate::error::RecordingError;

/// Type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// int64.
    Int,
    /// float64 (NaN where a value does not exist, e.g. a QBER without sifted events).
    Float,
}

/// One value of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// For an `Int` column.
    I(i64),
    /// For a `Float` column.
    F(f64),
}

/// Description of a column: name, unit, meaning, type.
pub type ColumnSpec = (&'static str, &'static str, &'static str, Col);

pub(crate) fn text(s: &str) -> VarLenUnicode {
    s.replace('\0', " ").parse().expect("no NUL bytes")
}

pub(crate) fn h5(path: &Path, what: &str, e: hdf5::Error) -> RecordingError {
    RecordingError::Hdf5 { path: path.into(), reason: format!("HDF5: {what}: {e}") }
}

/// Creates a 1-D extendible dataset with `unit` and `description` attributes.
pub(crate) fn column<T: H5Type>(
    g: &Group,
    name: &str,
    unit: &str,
    doc: &str,
    chunk: usize,
    gzip: bool,
) -> hdf5::Result<Dataset> {
    let b = g.new_dataset::<T>().chunk(chunk).shape(Extent::resizable(0));
    let ds = if gzip { b.shuffle().deflate(1).create(name)? } else { b.create(name)? };
    ds.new_attr::<VarLenUnicode>().create("unit")?.write_scalar(&text(unit))?;
    ds.new_attr::<VarLenUnicode>().create("description")?.write_scalar(&text(doc))?;
    Ok(ds)
}

/// Appends `data` to the 1-D dataset `ds` that holds `at` rows.
pub(crate) fn extend<T: H5Type>(path: &Path, ds: &Dataset, at: usize, data: &[T]) -> Result<(), RecordingError> {
    ds.resize(at + data.len()).map_err(|e| h5(path, "resize", e))?;
    ds.write_slice(data, at..at + data.len()).map_err(|e| h5(path, "write", e))
}

/// A group of columns appended row by row. Rows are buffered and written in blocks (a row
/// at a time would re-write a compressed chunk per row); `flush` writes what is buffered.
#[derive(Debug)]
pub struct Table {
    path: PathBuf,
    name: &'static str,
    specs: &'static [ColumnSpec],
    columns: Vec<Dataset>,
    rows: usize,
    pending: Vec<Vec<Value>>,
}

impl Table {
    /// Creates group `name` in `parent` with the columns `specs`.
    pub fn create(
        path: &Path,
        parent: &Group,
        name: &'static str,
        specs: &'static [ColumnSpec],
        gzip: bool,
    ) -> Result<Self, RecordingError> {
        let g = parent.create_group(name).map_err(|e| h5(path, name, e))?;
        let mut columns = Vec::with_capacity(specs.len());
        for (col, unit, doc, ty) in specs {
            let ds = match ty {
                Col::Int => column::<i64>(&g, col, unit, doc, 1024, gzip),
                Col::Float => column::<f64>(&g, col, unit, doc, 1024, gzip),
            };
            columns.push(ds.map_err(|e| h5(path, &format!("{name}/{col}"), e))?);
        }
        Ok(Table { path: path.into(), name, specs, columns, rows: 0, pending: Vec::new() })
    }

    /// Buffers one row; `row` has one value per column, of the column's type.
    pub fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.specs.len(), "a value per column of /{}", self.name);
        self.pending.push(row);
    }

    /// Rows written and buffered.
    pub fn rows(&self) -> usize {
        self.rows + self.pending.len()
    }

    /// Writes the buffered rows.
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        for (k, (ds, spec)) in self.columns.iter().zip(self.specs).enumerate() {
            match spec.3 {
                Col::Int => {
                    let v: Vec<i64> = self
                        .pending
                        .iter()
                        .map(|r| match r[k] {
                            Value::I(x) => x,
                            Value::F(x) => x as i64,
                        })
                        .collect();
                    extend(&self.path, ds, self.rows, &v)?;
                }
                Col::Float => {
                    let v: Vec<f64> = self
                        .pending
                        .iter()
                        .map(|r| match r[k] {
                            Value::F(x) => x,
                            Value::I(x) => x as f64,
                        })
                        .collect();
                    extend(&self.path, ds, self.rows, &v)?;
                }
            }
        }
        self.rows += self.pending.len();
        self.pending.clear();
        Ok(())
    }
}
