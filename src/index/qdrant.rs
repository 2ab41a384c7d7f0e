//! `QdrantIndex`: the vector index on a Qdrant server (or cluster) over gRPC, for setups
//! with several stateless replicas. Each logical collection is a Qdrant collection named
//! `{prefix}{collection}` with cosine distance and keyword payload indexes on
//! `department_id` and `status`. Our string ids become deterministic UUIDs (v5), the original
//! id travels in the payload. Collection tags live in one small meta collection
//! (`{prefix}collection_tags`, one 1-dimensional point per collection), because a tag must
//! be readable by every replica and survive restarts like the points it describes.

mod convert;

use std::{collections::HashMap, sync::RwLock};

use qdrant_client::{
    Qdrant, QdrantError,
    qdrant::{
        CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
        DeletePointsBuilder, Distance, FieldType, GetPointsBuilder, PointStruct, PointsIdsList,
        Query, QueryPointsBuilder, UpsertPointsBuilder, VectorParamsBuilder, vectors_config,
    },
};
use secrecy::{ExposeSecret, SecretString};

use super::{Filter, Hit, IndexError, Point, VectorIndex};
use convert::{
    StoredPayload, StoredTag, backend, from_qdrant_payload, point_id, qdrant_filter,
    to_qdrant_payload,
};

/// Points per upsert request: keeps each gRPC message well below the server's size limit
/// (384-dim vectors plus payload text are a few kB each).
const UPSERT_BATCH: usize = 256;
const TAG_COLLECTION: &str = "collection_tags";
/// Payload fields with a keyword index, so filtered searches stay fast on large collections.
const FILTER_FIELDS: [&str; 2] = ["department_id", "status"];

pub struct QdrantIndex {
    client: Qdrant,
    prefix: String,
    /// Vector size per logical collection, so a wrong dimension is refused with the same
    /// error as the embedded index instead of a server message.
    dimensions: RwLock<HashMap<String, usize>>,
}

impl QdrantIndex {
    /// Connects and checks that the server answers. `api_key` comes from the environment
    /// variable the config names, never from the config file itself.
    pub async fn connect(
        url: &str,
        api_key: Option<SecretString>,
        prefix: &str,
    ) -> Result<Self, IndexError> {
        // The client's own compatibility check blocks a thread; the async health check
        // below does the same work on the runtime.
        let client = Qdrant::from_url(url)
            .api_key(api_key.as_ref().map(|k| k.expose_secret().to_string()))
            .skip_compatibility_check()
            .build()
            .map_err(|e| IndexError::Backend(format!("qdrant at {url}: {e}")))?;
        let health = client
            .health_check()
            .await
            .map_err(|e| IndexError::Backend(format!("qdrant at {url} does not answer: {e}")))?;
        tracing::info!(url, version = %health.version, "connected to qdrant");
        Ok(Self {
            client,
            prefix: prefix.to_string(),
            dimensions: RwLock::new(HashMap::new()),
        })
    }

    fn name(&self, collection: &str) -> String {
        format!("{}{collection}", self.prefix)
    }

    fn tag_collection(&self) -> String {
        self.name(TAG_COLLECTION)
    }

    /// The collection's vector size, from the cache or the server (another replica may
    /// have created it).
    async fn dimension(&self, collection: &str) -> Result<usize, IndexError> {
        if let Some(&d) = self.dimensions.read().expect("lock").get(collection) {
            return Ok(d);
        }
        let d = self
            .server_dimension(collection)
            .await?
            .ok_or_else(|| IndexError::NoCollection(collection.to_string()))?;
        self.dimensions
            .write()
            .expect("lock")
            .insert(collection.to_string(), d);
        Ok(d)
    }

    async fn server_dimension(&self, collection: &str) -> Result<Option<usize>, IndexError> {
        let name = self.name(collection);
        let exists = self
            .client
            .collection_exists(&name)
            .await
            .map_err(|e| backend(collection, "collection_exists", e))?;
        if !exists {
            return Ok(None);
        }
        let info = self
            .client
            .collection_info(&name)
            .await
            .map_err(|e| backend(collection, "collection_info", e))?;
        let size = info
            .result
            .and_then(|i| i.config)
            .and_then(|c| c.params)
            .and_then(|p| p.vectors_config)
            .and_then(|v| v.config)
            .and_then(|c| match c {
                vectors_config::Config::Params(p) => Some(p.size as usize),
                vectors_config::Config::ParamsMap(_) => None,
            });
        // A collection with named vectors was not made by us; treat its size as unknown so
        // `ensure_collection` replaces it.
        Ok(Some(size.unwrap_or(0)))
    }

    async fn check(&self, collection: &str, vector: &[f32]) -> Result<(), IndexError> {
        let want = self.dimension(collection).await?;
        if vector.len() == want {
            Ok(())
        } else {
            Err(IndexError::Dimension {
                collection: collection.to_string(),
                got: vector.len(),
                want,
            })
        }
    }

    async fn create(&self, collection: &str, dimension: usize) -> Result<(), IndexError> {
        let name = self.name(collection);
        self.client
            .create_collection(
                CreateCollectionBuilder::new(&name)
                    .vectors_config(VectorParamsBuilder::new(dimension as u64, Distance::Cosine)),
            )
            .await
            .map_err(|e| backend(collection, "create_collection", e))?;
        for field in FILTER_FIELDS {
            self.client
                .create_field_index(
                    CreateFieldIndexCollectionBuilder::new(&name, field, FieldType::Keyword)
                        .wait(true),
                )
                .await
                .map_err(|e| backend(collection, "create_field_index", e))?;
        }
        Ok(())
    }

    async fn recreate(&self, collection: &str, dimension: usize) -> Result<(), IndexError> {
        self.client
            .delete_collection(self.name(collection))
            .await
            .map_err(|e| backend(collection, "delete_collection", e))?;
        self.create(collection, dimension).await
    }

    async fn set_tag(&self, collection: &str, tag: Option<&str>) -> Result<(), IndexError> {
        let meta = self.tag_collection();
        let id = point_id(collection);
        match tag {
            Some(tag) => {
                let payload = to_qdrant_payload(&StoredTag {
                    collection: collection.to_string(),
                    tag: tag.to_string(),
                })?;
                self.client
                    .upsert_points(
                        UpsertPointsBuilder::new(
                            &meta,
                            vec![PointStruct::new(id, vec![1.0f32], payload)],
                        )
                        .wait(true),
                    )
                    .await
                    .map_err(|e| backend(TAG_COLLECTION, "upsert tag", e))?;
            }
            None => {
                self.client
                    .delete_points(
                        DeletePointsBuilder::new(&meta)
                            .points(PointsIdsList { ids: vec![id] })
                            .wait(true),
                    )
                    .await
                    .map_err(|e| backend(TAG_COLLECTION, "delete tag", e))?;
            }
        }
        Ok(())
    }

    async fn upsert_batches(&self, collection: &str, points: Vec<Point>) -> Result<(), IndexError> {
        let name = self.name(collection);
        let mut structs = Vec::with_capacity(points.len());
        for p in points {
            let payload = to_qdrant_payload(&StoredPayload {
                id: p.id.clone(),
                payload: p.payload,
            })?;
            structs.push(PointStruct::new(point_id(&p.id), p.vector, payload));
        }
        while !structs.is_empty() {
            let rest = structs.split_off(structs.len().min(UPSERT_BATCH));
            self.client
                .upsert_points(UpsertPointsBuilder::new(&name, structs).wait(true))
                .await
                .map_err(|e| backend(collection, "upsert", e))?;
            structs = rest;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl VectorIndex for QdrantIndex {
    async fn ensure_collection(
        &self,
        collection: &str,
        dimension: usize,
    ) -> Result<(), IndexError> {
        if self.server_dimension(TAG_COLLECTION).await?.is_none() {
            self.create(TAG_COLLECTION, 1).await?;
        }
        match self.server_dimension(collection).await? {
            None => self.create(collection, dimension).await?,
            // Another model (or a foreign collection): start over, and forget the old tag
            // so the owner rebuilds it.
            Some(d) if d != dimension => {
                self.set_tag(collection, None).await?;
                self.recreate(collection, dimension).await?;
            }
            Some(_) => {}
        }
        self.dimensions
            .write()
            .expect("lock")
            .insert(collection.to_string(), dimension);
        Ok(())
    }

    async fn upsert(&self, collection: &str, points: Vec<Point>) -> Result<(), IndexError> {
        for p in &points {
            self.check(collection, &p.vector).await?;
        }
        self.upsert_batches(collection, points).await
    }

    async fn delete(&self, collection: &str, ids: &[String]) -> Result<(), IndexError> {
        self.dimension(collection).await?;
        self.client
            .delete_points(
                DeletePointsBuilder::new(self.name(collection))
                    .points(PointsIdsList {
                        ids: ids.iter().map(|id| point_id(id)).collect(),
                    })
                    .wait(true),
            )
            .await
            .map_err(|e| backend(collection, "delete", e))?;
        Ok(())
    }

    /// Clears the tag first and sets it last: a crash in between leaves the collection
    /// untagged, so the next start rebuilds it rather than trusting half of it.
    async fn replace_all(
        &self,
        collection: &str,
        points: Vec<Point>,
        tag: &str,
    ) -> Result<(), IndexError> {
        let dimension = self.dimension(collection).await?;
        for p in &points {
            self.check(collection, &p.vector).await?;
        }
        self.set_tag(collection, None).await?;
        self.recreate(collection, dimension).await?;
        self.upsert_batches(collection, points).await?;
        self.set_tag(collection, Some(tag)).await
    }

    async fn tag(&self, collection: &str) -> Result<Option<String>, IndexError> {
        let found = self
            .client
            .get_points(
                GetPointsBuilder::new(self.tag_collection(), vec![point_id(collection)])
                    .with_payload(true),
            )
            .await;
        let points = match found {
            Ok(r) => r.result,
            // No meta collection yet: nothing has been tagged.
            Err(QdrantError::ResponseError { status })
                if status.code() == tonic::Code::NotFound =>
            {
                return Ok(None);
            }
            Err(e) => return Err(backend(TAG_COLLECTION, "get tag", e)),
        };
        match points.into_iter().next() {
            Some(p) => Ok(Some(
                from_qdrant_payload::<StoredTag>(TAG_COLLECTION, p.payload)?.tag,
            )),
            None => Ok(None),
        }
    }

    async fn count(&self, collection: &str) -> Result<usize, IndexError> {
        let r = self
            .client
            .count(CountPointsBuilder::new(self.name(collection)).exact(true))
            .await
            .map_err(|e| backend(collection, "count", e))?;
        Ok(r.result.map_or(0, |c| c.count as usize))
    }

    async fn search(
        &self,
        collection: &str,
        vector: &[f32],
        limit: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>, IndexError> {
        self.check(collection, vector).await?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut query = QueryPointsBuilder::new(self.name(collection))
            .query(Query::new_nearest(vector.to_vec()))
            .limit(limit as u64)
            .with_payload(true);
        if let Some(f) = qdrant_filter(filter) {
            query = query.filter(f);
        }
        let response = self
            .client
            .query(query)
            .await
            .map_err(|e| backend(collection, "query", e))?;
        response
            .result
            .into_iter()
            .map(|p| {
                let stored: StoredPayload = from_qdrant_payload(collection, p.payload)?;
                // With cosine distance Qdrant's score is the cosine similarity itself.
                Ok(Hit {
                    id: stored.id,
                    score: p.score,
                    payload: stored.payload,
                })
            })
            .collect()
    }
}
