#![doc = include_str!("../README.md")]

pub mod any;
pub mod bootstrap;
pub mod core;
pub mod duration;
pub mod error;
pub mod helm;
pub mod image;
pub mod install;
pub mod kustomize;
pub mod meta;
pub mod notification;
pub mod object;
pub mod source;
pub mod validate;
pub mod yaml;

pub use any::Object;
pub use bootstrap::{SyncOptions, gotk_sync};
pub use core::{KustomizeConfig, Namespace, RoleBinding, Secret, ServiceAccount, SopsAzureKv};
pub use duration::Duration;
pub use error::{Error, Result};
pub use helm::HelmRelease;
pub use image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
pub use kustomize::Kustomization;
pub use meta::{CrossNamespaceObjectReference, LocalObjectReference, ObjectMeta};
pub use notification::{Alert, Provider, Receiver};
pub use object::{Manifest, render, render_all, render_value};
pub use source::{
    Bucket, ExternalArtifact, GitRepository, HelmChart, HelmRepository, OCIRepository,
};
pub use yaml::to_yaml;
